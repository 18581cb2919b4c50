// text/: UTF-8, Unicode properties and NFC, the pre-tokenizer regex, byte-level BPE, the
// tokenizer.json reader and chat templates, on hand-worked cases; and what rl/ builds on them, the
// rewards over decoded text and the arithmetic word problems. The comparison with the Hugging Face
// tokenizers on thousands of strings is check_with_python_tokenizers.py.
#define BOOST_TEST_MODULE rlmoe text
#include "support/boost_test.hpp"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "rlmoe/core/utf8.hpp"
#include "rlmoe/rl/rewards/text_answer.hpp"
#include "rlmoe/rl/tasks/word_problems.hpp"
#include "rlmoe/text/byte_level.hpp"
#include "rlmoe/text/chat_template.hpp"
#include "rlmoe/text/normalization.hpp"
#include "rlmoe/text/regex.hpp"
#include "rlmoe/text/sentencepiece.hpp"
#include "rlmoe/text/tokenizer.hpp"
#include "rlmoe/text/unicode.hpp"
#include "support/test_data.hpp"

namespace t = rlmoe::test;
namespace text = rlmoe::text;
namespace utf8 = rlmoe::utf8;
using Ids = std::vector<std::int32_t>;

namespace {

std::string fixture(const std::string& name) { return std::string(RLMOE_TEXT_FIXTURES) + "/" + name + ".json"; }

/// The pieces `pattern` finds in `s`, as UTF-8 strings.
std::vector<std::string> matches(const std::string& pattern, const std::string& s) {
  const text::Regex regex(pattern);
  const std::u32string codes = utf8::to_code_points(s);
  std::vector<std::string> out;
  for (const auto& m : regex.find_all(codes)) out.push_back(utf8::from_code_points(codes.substr(m.begin, m.end - m.begin)));
  return out;
}

std::string nfc(const std::string& s) { return utf8::from_code_points(text::normalization::nfc(utf8::to_code_points(s))); }

/// A tokenizer.json around a BPE model with the given vocabulary and merges (JSON text).
std::string bpe_json(const std::string& vocab, const std::string& merges, const std::string& extra = "") {
  return R"({"model": {"type": "BPE", "vocab": )" + vocab + R"(, "merges": )" + merges + extra + "}}";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(text_utf8)

BOOST_AUTO_TEST_CASE(decodes_and_encodes_every_length) {
  for (char32_t c : {U'A', U'\u00e9', U'\u20ac', U'\U0001F600', U'\U0010FFFF'}) {
    std::string s;
    utf8::append(s, c);
    const auto d = utf8::decode(s, 0);
    BOOST_TEST(static_cast<std::uint32_t>(d.code) == static_cast<std::uint32_t>(c));
    BOOST_TEST(d.length == s.size());
  }
  BOOST_TEST(utf8::from_code_points(utf8::to_code_points("h\u00e9llo \U0001F600")) == "h\u00e9llo \U0001F600");
}

BOOST_AUTO_TEST_CASE(refuses_overlong_forms_surrogates_and_truncation) {
  for (const std::string bad : {"\xC0\xAF", "\xE0\x80\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xF8\x88\x80\x80\x80", "\xE2\x82", "\x80"})
    BOOST_TEST(utf8::first_invalid("ok" + bad) == 2u, "the ill-formed part starts at byte 2");
  BOOST_TEST(utf8::first_invalid("fine \u20ac") == std::string("fine \u20ac").size());
}

BOOST_AUTO_TEST_CASE(replaces_each_maximal_ill_formed_subpart) {
  // The Unicode Standard's example (chapter 3.9, "U+FFFD Substitution of Maximal Subparts").
  const std::string bytes = "\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64";
  BOOST_TEST(utf8::lossy(bytes) == "a\uFFFD\uFFFD\uFFFDb\uFFFDc\uFFFD\uFFFDd");
  BOOST_TEST(utf8::lossy("\xE2\x82") == "\uFFFD", "a truncated character is one replacement");
  BOOST_TEST(utf8::lossy("\xE0\x80\x80") == "\uFFFD\uFFFD\uFFFD", "an overlong lead is a subpart of its own");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(text_unicode)

BOOST_AUTO_TEST_CASE(general_categories_of_known_characters) {
  using C = text::unicode::Category;
  BOOST_TEST((text::unicode::category(U'A') == C::Lu));
  BOOST_TEST((text::unicode::category(U'7') == C::Nd));
  BOOST_TEST((text::unicode::category(U'\u4F60') == C::Lo));
  BOOST_TEST((text::unicode::category(U'\u0301') == C::Mn));
  BOOST_TEST((text::unicode::category(U'\U0001F600') == C::So));
  BOOST_TEST((text::unicode::category(U'\u00BD') == C::No));
  BOOST_TEST((text::unicode::category(U'_') == C::Pc));
  BOOST_TEST((text::unicode::category(0xE000) == C::Co));
  BOOST_TEST((text::unicode::category(0x10FFFF) == C::Cn));
  BOOST_TEST((text::unicode::category(0x110000) == C::Cn));
  // Added in Unicode 15 and 16, which the tables follow (as the tokenizers' Oniguruma does).
  BOOST_TEST((text::unicode::category(0x1F77D) == C::So));
  BOOST_TEST((text::unicode::category(0x1C89) == C::Lu));
  BOOST_TEST(text::unicode::major_class(U'\u0663') == text::unicode::kNumber);
  BOOST_TEST(text::unicode::is_white_space(U'\u3000'));
  BOOST_TEST(!text::unicode::is_white_space(U'\u200B'), "ZERO WIDTH SPACE is not White_Space");
}

BOOST_AUTO_TEST_CASE(nfc_composes_orders_and_leaves_excluded_characters_decomposed) {
  BOOST_TEST(nfc("e\u0301") == "\u00E9");
  BOOST_TEST(nfc("a\u0323\u0302") == "\u1EAD", "dot below (220) and circumflex (230) in order");
  BOOST_TEST(nfc("a\u0302\u0323") == "\u1EAD", "the marks reordered by combining class first");
  BOOST_TEST(nfc("\u1100\u1161\u11A8") == "\uAC01", "Hangul L + V + T compose into one syllable");
  BOOST_TEST(nfc("\uAC00\u11A8") == "\uAC01", "an LV syllable takes a trailing consonant");
  BOOST_TEST(nfc("\u212B") == "\u00C5", "ANGSTROM SIGN is a singleton: it becomes A-ring");
  BOOST_TEST(nfc("\u0958") == "\u0915\u093C", "QA is excluded from composition");
  BOOST_TEST(nfc("a\u0301\u0301") == "\u00E1\u0301", "the second acute is blocked by the first");
  BOOST_TEST(nfc("\u0301e") == "\u0301e", "a leading mark composes with nothing");
  BOOST_TEST(nfc("plain ASCII, caf\u00E9") == "plain ASCII, caf\u00E9");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(text_regex)

BOOST_AUTO_TEST_CASE(splits_like_the_gpt2_pattern_should) {
  const std::vector<std::string> expected = {"Hello", " world", "'s", " ", " 123", " caf\u00E9", "!!", "\n", " x"};
  BOOST_TEST(matches(text::kGpt2SplitPattern, "Hello world's  123 caf\u00E9!!\n x") == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(alternatives_in_order_greedy_and_lazy_repeats_and_lookahead) {
  BOOST_TEST(matches("a|ab", "ab") == std::vector<std::string>{"a"}, "the first alternative that matches wins");
  BOOST_TEST(matches("a+ab", "aaab") == std::vector<std::string>{"aaab"}, "a greedy run gives back what the rest needs");
  BOOST_TEST(matches("a+?", "aaa") == (std::vector<std::string>{"a", "a", "a"}));
  BOOST_TEST((matches(R"(\s+(?!\S)|\s+)", "a   b") == std::vector<std::string>{"  ", " "}), "the last space stays with b");
  BOOST_TEST(matches(R"(\p{N}{1,3})", "12345") == (std::vector<std::string>{"123", "45"}));
  BOOST_TEST(matches(R"((?:ab){2,})", "abababa") == std::vector<std::string>{"ababab"});
  BOOST_TEST(matches(R"([^\s\p{L}]+)", "ab, 12!") == (std::vector<std::string>{",", "12!"}));
  BOOST_TEST(matches(R"(x(?=y))", "xxy") == std::vector<std::string>{"x"});
  BOOST_TEST(matches(R"([\x{4E00}-\x{9FA5}]+)", "ab\u4F60\u597Dcd") == std::vector<std::string>{"\u4F60\u597D"});
  BOOST_TEST(matches(R"(\.\[\])", "a.[]") == std::vector<std::string>{".[]"});
  BOOST_TEST(matches("a{,2}", "a{,2}") == std::vector<std::string>{"a{,2}"}, "a brace that starts no bound is literal");
}

BOOST_AUTO_TEST_CASE(case_insensitive_groups_fold_ascii_letters) {
  BOOST_TEST(matches("(?i:'s|'ll)", "'S 'Ll 'll '\u017F 'x") == (std::vector<std::string>{"'S", "'Ll", "'ll", "'\u017F"}));
  BOOST_TEST(matches("(?i:k)", "\u212A") == std::vector<std::string>{"\u212A"}, "KELVIN SIGN folds to k");
  BOOST_TEST(matches("(?i:a)b", "AB Ab") == std::vector<std::string>{"Ab"}, "the flag ends with its group");
}

BOOST_AUTO_TEST_CASE(a_long_run_costs_no_stack) {
  const std::u32string letters(2'000'000, U'x');
  const text::Regex regex(R"(\p{L}+|\s+)");
  const auto found = regex.find_all(letters);
  BOOST_TEST_REQUIRE(found.size() == 1u);
  BOOST_TEST(found[0].end == letters.size());
}

BOOST_AUTO_TEST_CASE(refuses_what_it_does_not_support_naming_the_position) {
  using rlmoe::io::FormatError;
  BOOST_TEST(t::throws_with<FormatError>([] { text::Regex("ab(?<name>c)"); }, {"ab(?<name>c)", "at character 4", "group kind"}));
  BOOST_TEST(t::throws_with<FormatError>([] { text::Regex(R"(\w+)"); }, {"at character 0", "the escape \\w is not supported"}));
  BOOST_TEST(t::throws_with<FormatError>([] { text::Regex(R"(\p{Han})"); }, {"\\p{Han}", "not supported"}));
  BOOST_TEST(t::throws_with<FormatError>([] { text::Regex("[a-"); }, {"expected ']' closing the class"}));
  BOOST_TEST(t::throws_with<FormatError>([] { text::Regex("a{3,1}"); }, {"{n,m} with n <= m"}));
  BOOST_TEST(t::throws_with<FormatError>([] { text::Regex("(ab"); }, {"expected ')'"}));
  BOOST_TEST(t::throws_with<FormatError>([] { text::Regex("ab)"); }, {"at character 2"}));
  BOOST_TEST(t::throws_with<FormatError>([] { text::Regex("*a"); }, {"something to repeat"}));
  BOOST_TEST(t::throws_with<FormatError>([] { text::Regex("^a"); }, {"an anchor"}));
  BOOST_TEST(t::throws_with<FormatError>([] { text::Regex("(?i:[a-z])"); }, {"case-insensitive"}));
  BOOST_TEST(t::throws_with<FormatError>([] { text::Regex("a++"); }, {"possessive"}));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(text_bpe)

BOOST_AUTO_TEST_CASE(byte_level_alphabet_maps_every_byte_both_ways) {
  BOOST_TEST(static_cast<std::uint32_t>(text::byte_level::character_of(' ')) == 0x120u);
  BOOST_TEST(static_cast<std::uint32_t>(text::byte_level::character_of('\n')) == 0x10Au);
  BOOST_TEST(static_cast<std::uint32_t>(text::byte_level::character_of('A')) == static_cast<std::uint32_t>('A'));
  BOOST_TEST(static_cast<std::uint32_t>(text::byte_level::character_of(0xAD)) == 0x143u, "the last byte without a glyph");
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  const auto back = text::byte_level::decode(text::byte_level::encode(all));
  BOOST_TEST_REQUIRE(back.has_value());
  BOOST_TEST(*back == all);
  BOOST_TEST(!text::byte_level::decode("<\uFF5CUser\uFF5C>").has_value(), "characters outside the alphabet");
}

BOOST_AUTO_TEST_CASE(merges_by_rank_then_leftmost) {
  const auto encode = [](const std::string& json, const std::string& s) { return text::Tokenizer::from_json(json).encode(s); };
  const std::string vocab = R"({"a": 0, "b": 1, "c": 2, "ab": 3, "bc": 4, "abc": 5, "aa": 6})";
  BOOST_TEST(encode(bpe_json(vocab, R"(["a b", "ab c"])"), "abc") == Ids{5});
  BOOST_TEST(encode(bpe_json(vocab, R"([["b", "c"], ["a", "b"]])"), "abc") == (Ids{0, 4}), "b c ranks first, then a + bc has no merge");
  BOOST_TEST(encode(bpe_json(vocab, R"(["a a"])"), "aaa") == (Ids{6, 0}), "equal ranks merge leftmost first");
  BOOST_TEST(encode(bpe_json(vocab, R"(["a a"])"), "aaaa") == (Ids{6, 6}));
  BOOST_TEST(encode(bpe_json(vocab, "[]", R"(, "ignore_merges": true)"), "abc") == Ids{5}, "ignore_merges takes a whole-word token");
  BOOST_TEST(encode(bpe_json(vocab, "[]"), "abc") == (Ids{0, 1, 2}));
}

BOOST_AUTO_TEST_CASE(a_long_word_merges_in_n_log_n) {
  const std::string vocab = R"({"a": 0, "aa": 1, "aaaa": 2})";
  const auto tokenizer = text::Tokenizer::from_json(bpe_json(vocab, R"(["a a", "aa aa"])"));
  const auto ids = tokenizer.encode(std::string(200'001, 'a'));
  BOOST_TEST_REQUIRE(ids.size() == 50'001u);
  BOOST_TEST(ids.back() == 0);
  BOOST_TEST(ids.front() == 2);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(text_tokenizer)

BOOST_AUTO_TEST_CASE(special_tokens_bos_and_stripping_around_added_tokens) {
  const auto tokenizer = text::Tokenizer::from_file(fixture("deepseek_style"));
  const std::int32_t bos = tokenizer.token_to_id("<\uFF5Cbegin\u2581of\u2581sentence\uFF5C>");
  const std::int32_t mask = tokenizer.token_to_id("<mask>");
  BOOST_TEST_REQUIRE(bos == 0);
  BOOST_TEST_REQUIRE(mask >= 0);
  const Ids plain = tokenizer.encode("the answer", false);
  Ids with_bos = {bos};
  with_bos.insert(with_bos.end(), plain.begin(), plain.end());
  BOOST_TEST(tokenizer.encode("the answer") == with_bos, "the template puts BOS first");
  // <mask> strips the whitespace on both sides: "the  <mask>  answer" is "the" + mask + "answer".
  Ids expected = tokenizer.encode("the", false);
  expected.push_back(mask);
  const Ids answer = tokenizer.encode("answer", false);
  expected.insert(expected.end(), answer.begin(), answer.end());
  BOOST_TEST(tokenizer.encode("the  <mask>  answer", false) == expected, boost::test_tools::per_element());
  // Decoding keeps or skips the special tokens; a non-special added token stays.
  const Ids ids = tokenizer.encode("<think>x</think> done<\uFF5Cend\u2581of\u2581sentence\uFF5C>");
  BOOST_TEST(tokenizer.decode(ids) == "<\uFF5Cbegin\u2581of\u2581sentence\uFF5C><think>x</think> done<\uFF5Cend\u2581of\u2581sentence\uFF5C>");
  BOOST_TEST(tokenizer.decode(ids, true) == "<think>x</think> done");
  BOOST_TEST(tokenizer.vocab_size() == 1005u);
}

BOOST_AUTO_TEST_CASE(round_trips_text_through_every_fixture) {
  const std::string s = "Tom has 12 apples; he gives 5 away. How many remain? \u7B54\u6848: 7 \U0001F600\n\n  caf\u00E9 na\u00EFve";
  for (const char* name : {"gpt2_style", "qwen_style", "deepseek_style"}) {
    const auto tokenizer = text::Tokenizer::from_file(fixture(name));
    BOOST_TEST(tokenizer.decode(tokenizer.encode(s), true) == s, name);
  }
}

BOOST_AUTO_TEST_CASE(encodes_alike_from_many_threads) {
  const auto tokenizer = text::Tokenizer::from_file(fixture("qwen_style"));
  std::vector<std::string> texts;
  for (int i = 0; i < 64; ++i) texts.push_back("item " + std::to_string(i * 7919) + " caf\u00E9 <|im_start|>user\n\u4F60\u597D " + std::string(i, '!'));
  std::vector<Ids> serial;
  for (const auto& s : texts) serial.push_back(tokenizer.encode(s));
  std::vector<std::vector<Ids>> parallel(4);
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; ++k)
    threads.emplace_back([&, k] {
      for (const auto& s : texts) parallel[static_cast<std::size_t>(k)].push_back(tokenizer.encode(s));
    });
  for (auto& thread : threads) thread.join();
  for (const auto& result : parallel) BOOST_TEST((result == serial));
}

BOOST_AUTO_TEST_CASE(refuses_bad_input_naming_what_is_wrong) {
  using rlmoe::io::FormatError;
  const std::string vocab = R"({"a": 0, "b": 1})";
  const auto load = [](const std::string& json) { return [json] { (void)text::Tokenizer::from_json(json, "tok.json"); }; };
  BOOST_TEST(t::throws_with<FormatError>(load("{"), {"tok.json"}));
  BOOST_TEST(t::throws_with<FormatError>(load("{}"), {"tok.json", "missing \"model\""}));
  BOOST_TEST(t::throws_with<FormatError>(load(R"({"model": {"type": "WordPiece"}})"), {"model.type", "WordPiece", "BPE"}));
  BOOST_TEST(t::throws_with<FormatError>(load(bpe_json(vocab, R"(["a c"])")), {"model.merges[0]", "\"c\" is not in the vocabulary"}));
  BOOST_TEST(t::throws_with<FormatError>(load(bpe_json(vocab, R"(["a b"])")), {"model.merges[0]", "\"ab\" is not in the vocabulary"}));
  BOOST_TEST(t::throws_with<FormatError>(load(bpe_json(vocab, R"(["ab"])")), {"model.merges[0]", "two tokens"}));
  BOOST_TEST(t::throws_with<FormatError>(load(bpe_json(R"({"a": 0, "b": 0})", "[]")), {"model.vocab", "id 0", "\"a\"", "\"b\""}));
  BOOST_TEST(t::throws_with<FormatError>(load(bpe_json(vocab, "[]", R"(, "dropout": 0.1)")), {"model.dropout", "deterministic"}));
  BOOST_TEST(t::throws_with<FormatError>(load(bpe_json(vocab, "[]", R"(, "byte_fallback": true)")), {"model.byte_fallback"}));
  BOOST_TEST(t::throws_with<FormatError>(load(bpe_json(vocab, "[]", R"(, "continuing_subword_prefix": "##")")),
                                         {"model.continuing_subword_prefix", "##"}));
  const auto with = [&](const std::string& field) { return load(R"({)" + field + R"(, "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}})"); };
  BOOST_TEST(t::throws_with<FormatError>(with(R"("normalizer": {"type": "Lowercase"})"), {"normalizer.type", "Lowercase"}));
  BOOST_TEST(t::throws_with<FormatError>(with(R"("pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Metaspace"}]})"),
                                         {"pre_tokenizer.pretokenizers[0].type", "Metaspace"}));
  BOOST_TEST(t::throws_with<FormatError>(with(R"("pre_tokenizer": {"type": "Split", "pattern": {"Regex": "\\w"}, "behavior": "Isolated"})"),
                                         {"regex pattern", "not supported"}));
  BOOST_TEST(t::throws_with<FormatError>(with(R"("pre_tokenizer": {"type": "Split", "pattern": {"Regex": "a"}, "behavior": "Glued"})"),
                                         {"pre_tokenizer.behavior", "Glued"}));
  BOOST_TEST(t::throws_with<FormatError>(with(R"("decoder": {"type": "WordPiece"})"), {"decoder.type", "WordPiece"}));
  BOOST_TEST(t::throws_with<FormatError>(with(R"("post_processor": {"type": "BertProcessing"})"), {"post_processor.type", "BertProcessing"}));
  BOOST_TEST(t::throws_with<FormatError>(with(R"("added_tokens": [{"id": 5, "content": "<x>", "single_word": true}])"),
                                         {"added_tokens[0].single_word", "<x>"}));
  BOOST_TEST(t::throws_with<FormatError>(with(R"("added_tokens": [{"id": 5, "content": "<x>"}, {"id": 5, "content": "<y>"}])"),
                                         {"added_tokens[1].id", "<x>"}));
  BOOST_TEST(t::throws_with<rlmoe::IoError>([] { (void)text::Tokenizer::from_file("/nonexistent/tokenizer.json"); },
                                            {"/nonexistent/tokenizer.json"}));
  const auto tokenizer = text::Tokenizer::from_json(bpe_json(vocab, "[]"));
  BOOST_TEST(t::throws_with<rlmoe::ConfigError>([&] { (void)tokenizer.encode("ab\xFF"); }, {"not valid UTF-8 at byte 2"}));
  BOOST_TEST(t::throws_with<FormatError>([&] { (void)tokenizer.encode("abc"); }, {"\"c\"", "not in the vocabulary"}));
  const Ids unknown = {0, 7};
  BOOST_TEST(t::throws_with<rlmoe::ConfigError>([&] { (void)tokenizer.decode(unknown); }, {"id 7", "[0, 2)"}));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(text_chat)

BOOST_AUTO_TEST_CASE(renders_deepseek_r1_and_chatml_conversations) {
  const std::vector<text::ChatMessage> conversation = {{"system", "Be brief."}, {"user", "2+2?"}, {"assistant", "4"}, {"user", "3+3?"}};
  BOOST_TEST(text::ChatTemplate::deepseek_r1().render(conversation) ==
             "<\uFF5Cbegin\u2581of\u2581sentence\uFF5C>Be brief.<\uFF5CUser\uFF5C>2+2?<\uFF5CAssistant\uFF5C>4"
             "<\uFF5Cend\u2581of\u2581sentence\uFF5C><\uFF5CUser\uFF5C>3+3?<\uFF5CAssistant\uFF5C><think>\n");
  BOOST_TEST(text::ChatTemplate::chatml().render(conversation, false) ==
             "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n"
             "<|im_start|>user\n3+3?<|im_end|>\n");
  BOOST_TEST(text::ChatTemplate::chatml().prompt("hi") == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
  const std::vector<text::ChatMessage> late_system = {{"user", "a"}, {"system", "b"}};
  BOOST_TEST(t::throws_with<rlmoe::ConfigError>([&] { (void)text::ChatTemplate::chatml().render(late_system); }, {"message 1", "system"}));
  const std::vector<text::ChatMessage> tool = {{"tool", "x"}};
  BOOST_TEST(t::throws_with<rlmoe::ConfigError>([&] { (void)text::ChatTemplate::chatml().render(tool); }, {"message 0", "\"tool\""}));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(rl_text_rewards)

BOOST_AUTO_TEST_CASE(integer_answers_are_read_strictly) {
  using rlmoe::rl::parse_integer_answer;
  BOOST_TEST(parse_integer_answer("42").value_or(-1) == 42);
  BOOST_TEST(parse_integer_answer(" 1,234 ").value_or(-1) == 1234);
  BOOST_TEST(parse_integer_answer("$5.").value_or(-1) == 5);
  BOOST_TEST(parse_integer_answer("-7").value_or(0) == -7);
  for (const char* bad : {"", " ", "1,23", "12 apples", "3.5", "x", ",123", "--1", "1234567890123456789"})
    BOOST_TEST(!parse_integer_answer(bad).has_value(), "\"" << bad << "\" is no integer answer");
  BOOST_TEST(rlmoe::rl::reference_answer("3 + 4 = 7\n7 * 2 = 14\n#### 14").value_or(-1) == 14);
  BOOST_TEST(rlmoe::rl::reference_answer("15").value_or(-1) == 15);
}

BOOST_AUTO_TEST_CASE(r1_format_needs_one_of_each_tag_in_order) {
  const rlmoe::rl::R1TextTags opened;  // "<think>" ends the prompt
  const auto well_formed = [&](const std::string& s, const rlmoe::rl::R1TextTags& tags) { return rlmoe::rl::parse_r1_text(s, tags).well_formed; };
  BOOST_TEST(well_formed("7 + 5 = 12\n</think>\n<answer>12</answer>", opened));
  BOOST_TEST(well_formed("</think><answer>12</answer>  \n", opened));
  BOOST_TEST(!well_formed("<think>x</think><answer>12</answer>", opened), "a second <think>");
  BOOST_TEST(!well_formed("x</think><answer>1</answer><answer>2</answer>", opened));
  BOOST_TEST(!well_formed("x</think> so <answer>12</answer>", opened), "words between the tags");
  BOOST_TEST(!well_formed("x</think><answer>12</answer> done", opened), "words after the answer");
  BOOST_TEST(!well_formed("<answer>12</answer>", opened), "no reasoning close");
  rlmoe::rl::R1TextTags own = opened;
  own.think_opened_by_prompt = false;
  BOOST_TEST(well_formed(" <think>x</think> <answer>12</answer>", own));
  BOOST_TEST(!well_formed("x</think> <answer>12</answer>", own));
  const auto parsed = rlmoe::rl::parse_r1_text("x</think> so <answer> 12 </answer>", opened);
  BOOST_TEST_REQUIRE(parsed.answer.has_value());
  BOOST_TEST(std::string(*parsed.answer) == " 12 ", "the answer is read even when the format is broken");
}

BOOST_AUTO_TEST_CASE(reward_adds_accuracy_and_format_over_decoded_text) {
  auto tokenizer = std::make_shared<const text::Tokenizer>(text::Tokenizer::from_file(fixture("deepseek_style")));
  const rlmoe::rl::R1TextReward reward{tokenizer, 1.0f, 0.25f, {}};  // Tok deduced: text::Tokenizer
  const Ids reference = tokenizer->encode("3 + 4 = 7\n#### 7", false);
  const std::int32_t eos = tokenizer->token_to_id("<\uFF5Cend\u2581of\u2581sentence\uFF5C>");
  const auto score = [&](const std::string& completion) {
    Ids ids = tokenizer->encode(completion, false);
    ids.push_back(eos);
    rlmoe::rl::Sample sample;
    sample.completion = {ids.data(), static_cast<rlmoe::index_t>(ids.size())};
    sample.reference = {reference.data(), static_cast<rlmoe::index_t>(reference.size())};
    return reward(sample);
  };
  BOOST_TEST(score("3 + 4 = 7\n</think>\n<answer>7</answer>") == 1.25f);
  BOOST_TEST(score("</think><answer>8</answer>") == 0.25f, "well formed, wrong");
  BOOST_TEST(score("</think> it is <answer>7</answer>") == 1.0f, "right, badly formed");
  BOOST_TEST(score("the answer is 7") == 0.0f);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(rl_word_problems)

struct DeepSeekStyleVocabulary {
  static constexpr rlmoe::index_t kSize = 1024;  // the fixture's 1,005 ids, padded as models pad theirs
  static constexpr rlmoe::rl::token_t kEos = 1, kPad = 1;
};
using Task = rlmoe::rl::tasks::ArithmeticWordProblems<DeepSeekStyleVocabulary>;
static_assert(rlmoe::rl::tasks::Task<Task>);

Task make_task() {
  Task task;
  task.tokenizer = std::make_shared<const text::Tokenizer>(text::Tokenizer::from_file(fixture("deepseek_style")));
  task.min_steps = 1;
  task.max_steps = 3;
  task.prompt_tokens = 160;
  return task;
}

BOOST_AUTO_TEST_CASE(problems_are_deterministic_and_their_solutions_add_up) {
  const Task task = make_task();
  int operations = 0;
  for (rlmoe::index_t i = 0; i < 300; ++i) {
    const auto a = task.text(7, i), b = task.text(7, i);
    BOOST_TEST_REQUIRE((a.question == b.question && a.solution == b.solution));
    // Replay each line "x op y = z" of the solution, and its last result is the answer.
    std::istringstream lines(a.solution);
    std::string line;
    std::int64_t last = -1;
    while (std::getline(lines, line) && line.rfind("####", 0) != 0) {
      std::istringstream in(line);
      std::int64_t x = 0, y = 0, z = 0;
      char op = 0, equals = 0;
      in >> x >> op >> y >> equals >> z;
      const std::int64_t expected = op == '+' ? x + y : op == '-' ? x - y : op == '*' ? x * y : (x % y == 0 ? x / y : -999);
      BOOST_TEST_REQUIRE(z == expected, line);
      BOOST_TEST_REQUIRE(z >= 1, line);
      last = z;
      ++operations;
    }
    BOOST_TEST_REQUIRE(last == a.answer);
    BOOST_TEST_REQUIRE(rlmoe::rl::reference_answer(a.solution).value_or(-1) == a.answer);
  }
  BOOST_TEST(operations >= 300 * 15 / 10, "one to three operations per problem");
  BOOST_TEST(task.text(7, 0).question != task.text(8, 0).question, "another seed, other problems");
}

BOOST_AUTO_TEST_CASE(prompts_follow_the_template_and_demonstrations_earn_the_full_reward) {
  const Task task = make_task();
  const auto reward = task.reward();
  const auto accuracy = task.accuracy();
  for (rlmoe::index_t i = 0; i < 50; ++i) {
    const auto problem = task.problem(3, i);
    const std::string prompt = task.tokenizer->decode(problem.prompt);
    BOOST_TEST_REQUIRE(prompt.rfind("<\uFF5Cbegin\u2581of\u2581sentence\uFF5C><\uFF5CUser\uFF5C>", 0) == 0u, prompt);
    BOOST_TEST_REQUIRE(prompt.ends_with("<\uFF5CAssistant\uFF5C><think>\n"), prompt);
    BOOST_TEST_REQUIRE(problem.prompt.front() == 0, "the template's BOS is the BOS token, once");
    const auto demonstration = task.demonstration(problem);
    BOOST_TEST_REQUIRE(demonstration.back() == DeepSeekStyleVocabulary::kEos);
    BOOST_TEST_REQUIRE(static_cast<rlmoe::index_t>(demonstration.size()) <= task.max_completion_length());
    rlmoe::rl::Sample sample;
    sample.completion = {demonstration.data(), static_cast<rlmoe::index_t>(demonstration.size())};
    sample.reference = {problem.reference.data(), static_cast<rlmoe::index_t>(problem.reference.size())};
    BOOST_TEST_REQUIRE(reward(sample) == 1.0f + task.format_weight);
    BOOST_TEST_REQUIRE(accuracy(sample) == 1.0f);
  }
}

struct SmallVocabulary {
  static constexpr rlmoe::index_t kSize = 512;
  static constexpr rlmoe::rl::token_t kEos = 1, kPad = 1;
};
struct VocabularyWithoutItsEos {
  static constexpr rlmoe::index_t kSize = 2048;
  static constexpr rlmoe::rl::token_t kEos = 1500, kPad = 1;
};

BOOST_AUTO_TEST_CASE(refuses_a_tokenizer_that_does_not_fit_the_vocabulary) {
  rlmoe::rl::tasks::ArithmeticWordProblems<SmallVocabulary> small;
  small.tokenizer = make_task().tokenizer;
  BOOST_TEST(t::throws_with<rlmoe::ConfigError>([&] { (void)small.problem(1, 0); }, {"1005 ids", "only 512"}));
  rlmoe::rl::tasks::ArithmeticWordProblems<VocabularyWithoutItsEos> no_eos;
  no_eos.tokenizer = small.tokenizer;
  BOOST_TEST(t::throws_with<rlmoe::ConfigError>([&] { (void)no_eos.problem(1, 0); }, {"kEos = 1500"}));
  Task tight = make_task();
  tight.prompt_tokens = 8;
  BOOST_TEST(t::throws_with<rlmoe::ConfigError>([&] { (void)tight.problem(1, 0); }, {"over prompt_tokens = 8"}));
}

BOOST_AUTO_TEST_SUITE_END()

#if defined(RLMOE_TEST_SENTENCEPIECE)
BOOST_AUTO_TEST_SUITE(text_sentencepiece)

BOOST_AUTO_TEST_CASE(encodes_decodes_and_refuses_like_the_byte_level_tokenizer) {
  const std::string path = std::string(RLMOE_TEXT_FIXTURES) + "/sentencepiece_unigram.model";
  const auto sp = text::SentencePieceTokenizer::from_file(path);
  BOOST_TEST(sp.vocab_size() == 500u);
  BOOST_TEST(sp.bos_id() == 1);
  BOOST_TEST(sp.id_to_token(sp.bos_id()) == "<s>");
  BOOST_TEST(sp.token_to_id("<s>") == 1);
  BOOST_TEST(sp.token_to_id("no such piece") == -1);
  const std::string s = "Tom has 12 apples. caf\u00E9 \u4F60\u597D \U0001F600";
  const Ids ids = sp.encode(s);
  BOOST_TEST_REQUIRE(ids.size() > 3u);
  BOOST_TEST(ids.front() == sp.bos_id(), "add_bos puts BOS first");
  BOOST_TEST(sp.encode(s, false) == Ids(ids.begin() + 1, ids.end()));
  BOOST_TEST(sp.decode(ids) == s, "byte fallback carries what the pieces do not: decode(encode(s)) == s");
  using rlmoe::ConfigError;
  BOOST_TEST(t::throws_with<ConfigError>([&] { (void)sp.encode("ab\xC3"); }, {"not valid UTF-8 at byte 2"}));
  const Ids unknown = {5, 700};
  BOOST_TEST(t::throws_with<ConfigError>([&] { (void)sp.decode(unknown); }, {"id 700", "[0, 500)"}));
  BOOST_TEST(sp.decode(unknown, false, true) == sp.decode(Ids{5}), "skip_unknown_ids drops 700");
  BOOST_TEST(t::throws_with<rlmoe::IoError>([] { (void)text::SentencePieceTokenizer::from_file("/nonexistent/tokenizer.model"); },
                                            {"/nonexistent/tokenizer.model"}));
  BOOST_TEST(t::throws_with<rlmoe::io::FormatError>([] { (void)text::SentencePieceTokenizer::from_file(fixture("gpt2_style")); },
                                                    {"gpt2_style.json", "is not a SentencePiece model"}));
}

struct SentencePieceVocabulary {
  static constexpr rlmoe::index_t kSize = 512;
  static constexpr rlmoe::rl::token_t kEos = 2, kPad = 2;  // </s>
};

BOOST_AUTO_TEST_CASE(word_problems_run_over_sentencepiece_too) {
  using Task = rlmoe::rl::tasks::ArithmeticWordProblems<SentencePieceVocabulary, text::SentencePieceTokenizer>;
  static_assert(rlmoe::rl::tasks::Task<Task>);
  Task task;
  task.tokenizer = std::make_shared<const text::SentencePieceTokenizer>(
      text::SentencePieceTokenizer::from_file(std::string(RLMOE_TEXT_FIXTURES) + "/sentencepiece_unigram.model"));
  task.chat = text::ChatTemplate::chatml();
  task.chat.generation_prompt += "<think>\n";  // R1's format after ChatML's assistant turn
  task.prompt_tokens = 400;
  const auto reward = task.reward();
  for (rlmoe::index_t i = 0; i < 20; ++i) {
    const auto problem = task.problem(5, i);
    BOOST_TEST_REQUIRE(task.tokenizer->decode(problem.prompt).ends_with("<|im_start|>assistant\n<think>\n"));
    const auto demonstration = task.demonstration(problem);
    rlmoe::rl::Sample sample;
    sample.completion = {demonstration.data(), static_cast<rlmoe::index_t>(demonstration.size())};
    sample.reference = {problem.reference.data(), static_cast<rlmoe::index_t>(problem.reference.size())};
    BOOST_TEST_REQUIRE(reward(sample) == 1.0f + task.format_weight);
  }
}

BOOST_AUTO_TEST_SUITE_END()
#endif
