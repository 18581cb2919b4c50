#pragma once
// The learning-curve picture of a GRPO run (curves.png): training reward and accuracy as moving
// averages over 2% of the run (the accuracy only where it differs from the reward), and the
// held-out accuracy at each evaluation, from the RL steps' metrics.
#include <algorithm>
#include <cmath>
#include <string>
#include <string_view>
#include <vector>

#include "rlmoe/io/plot.hpp"
#include "rlmoe/io/png.hpp"
#include "rlmoe/io/step_metrics.hpp"

namespace rlmoe::io {

/// Writes the curves of `history` (the RL steps, in order) to the PNG `file`; `rl_start_accuracy`
/// is the held-out accuracy before the first step (NaN: not measured).
inline void write_learning_curves(const std::string& file, std::string_view task_name, const std::vector<StepMetrics>& history,
                                  double rl_start_accuracy) {
  const auto smoothed = [&](auto value) {
    const std::size_t window = std::max<std::size_t>(1, history.size() / 50);
    std::vector<double> out;
    double sum = 0.0;
    for (std::size_t i = 0; i < history.size(); ++i) {
      sum += value(history[i]);
      if (i >= window) sum -= value(history[i - window]);
      out.push_back(sum / static_cast<double>(std::min(i + 1, window)));
    }
    return out;
  };
  std::vector<double> steps;
  for (const StepMetrics& m : history) steps.push_back(static_cast<double>(m.step + 1));
  std::vector<Series> series;
  series.push_back({"reward (training, moving average)", 0x1F77B4, steps, smoothed([](const StepMetrics& m) { return m.reward_mean; })});
  const bool same = std::all_of(history.begin(), history.end(), [](const StepMetrics& m) { return m.reward_mean == m.accuracy; });
  if (!same) series.push_back({"accuracy (training, moving average)", 0xFF7F0E, steps, smoothed([](const StepMetrics& m) { return m.accuracy; })});
  Series eval{"accuracy (held-out, greedy)", 0x2CA02C, {}, {}};
  if (std::isfinite(rl_start_accuracy)) {
    eval.x.push_back(0.0);
    eval.y.push_back(rl_start_accuracy);
  }
  for (const StepMetrics& m : history)
    if (std::isfinite(m.eval_accuracy)) {
      eval.x.push_back(static_cast<double>(m.step + 1));
      eval.y.push_back(m.eval_accuracy);
    }
  series.push_back(eval);
  double low = 0.0, high = 1.0;
  for (const Series& s : series)
    for (double y : s.y)
      if (std::isfinite(y)) low = std::min(low, y), high = std::max(high, y);
  write_png(file, plot(series, {"GRPO on " + std::string(task_name), "step", low, high, 800, 450}));
}

}  // namespace rlmoe::io
