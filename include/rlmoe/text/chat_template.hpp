#pragma once
// ChatTemplate: how a conversation becomes the text a chat model was trained on, the part of a
// Hugging Face tokenizer_config.json's Jinja "chat_template" that GRPO needs (system, user and
// assistant turns, and the generation prompt the completion continues), written as the strings
// around each turn rather than as Jinja:
//
//   text = bos + [system_prefix + system + system_suffix]
//              + for each turn: user_prefix + user + user_suffix | assistant_prefix + reply + assistant_suffix
//              + (add_generation_prompt ? generation_prompt : "")
//
// Two presets, rendered as their models' templates render a conversation without tools:
//   deepseek_r1()  "<｜begin▁of▁sentence｜>{system}<｜User｜>{user}<｜Assistant｜><think>\n"
//                  (the generation prompt opens the reasoning, as R1's updated template does)
//   chatml()       Qwen's "<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"
// Earlier assistant turns are rendered as given (R1's template also drops their reasoning).
#include <span>
#include <string>
#include <string_view>

#include "rlmoe/core/error.hpp"

namespace rlmoe::text {

struct ChatMessage {
  std::string role;  ///< "system", "user" or "assistant"
  std::string content;
};

struct ChatTemplate {
  std::string bos;
  std::string system_prefix, system_suffix;
  std::string user_prefix, user_suffix;
  std::string assistant_prefix, assistant_suffix;
  std::string generation_prompt;

  /// The conversation as text; a system message may only come first. Throws ConfigError naming
  /// the message that breaks that or has another role.
  [[nodiscard]] std::string render(std::span<const ChatMessage> messages, bool add_generation_prompt = true) const {
    std::string out = bos;
    for (std::size_t i = 0; i < messages.size(); ++i) {
      const ChatMessage& m = messages[i];
      if (m.role == "system") {
        RLMOE_CHECK(i == 0, ConfigError, "ChatTemplate: message ", i, " is a system message; only the first may be");
        out += system_prefix + m.content + system_suffix;
      } else if (m.role == "user") {
        out += user_prefix + m.content + user_suffix;
      } else if (m.role == "assistant") {
        out += assistant_prefix + m.content + assistant_suffix;
      } else {
        throw ConfigError(rlmoe::detail::message("ChatTemplate: message ", i, " has role \"", m.role,
                                                 "\"; expected system, user or assistant"));
      }
    }
    if (add_generation_prompt) out += generation_prompt;
    return out;
  }

  /// One user turn and the generation prompt.
  [[nodiscard]] std::string prompt(std::string_view user) const {
    const ChatMessage message{"user", std::string(user)};
    return render(std::span<const ChatMessage>(&message, 1));
  }

  static ChatTemplate deepseek_r1() {
    ChatTemplate t;
    t.bos = "<\uFF5Cbegin\u2581of\u2581sentence\uFF5C>";
    t.user_prefix = "<\uFF5CUser\uFF5C>";
    t.assistant_prefix = "<\uFF5CAssistant\uFF5C>";
    t.assistant_suffix = "<\uFF5Cend\u2581of\u2581sentence\uFF5C>";
    t.generation_prompt = "<\uFF5CAssistant\uFF5C><think>\n";
    return t;
  }

  static ChatTemplate chatml() {
    ChatTemplate t;
    t.system_prefix = "<|im_start|>system\n";
    t.system_suffix = "<|im_end|>\n";
    t.user_prefix = "<|im_start|>user\n";
    t.user_suffix = "<|im_end|>\n";
    t.assistant_prefix = "<|im_start|>assistant\n";
    t.assistant_suffix = "<|im_end|>\n";
    t.generation_prompt = "<|im_start|>assistant\n";
    return t;
  }
};

}  // namespace rlmoe::text
