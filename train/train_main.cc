// lmc-train: trains lmc's byte-level transformer in float (LibTorch) and exports
// the exact integer model that compression uses.
//
//   lmc-train --data train-data --run runs/default --minutes 40
//   lmc-train --data train-data --run runs/default --export_to models/default
//   lmc-train --init default --data my-messages --run new/checkpoint --out new \
//             --minutes 5 --lr 5e-4 --warmup_steps 5   (what `lmc train` runs)
//
// A run directory holds model.pt, optim.pt and state.json; starting again on the
// same --run resumes where it stopped (same step, same schedule), so training can
// span several sessions. When the schedule ends, or with --export_to, the integer
// model is written as model.safetensors + config.json (into --out, or
// RUN/export). --init starts a fresh run from another run's float weights
// (fine-tuning): "default" is the shipped default model's checkpoint.
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "train/corpus.h"
#include "train/export.h"
#include "train/float_model.h"

ABSL_FLAG(std::string, data, "train-data", "training corpus directory");
ABSL_FLAG(std::string, run, "runs/default", "run directory (checkpoints, state)");
ABSL_FLAG(std::string, export_to, "", "write the integer model here and exit");
ABSL_FLAG(double, minutes, 30, "time budget of a fresh run (sets the schedule)");
ABSL_FLAG(int64_t, steps, 0, "total steps of a fresh run (overrides --minutes)");
ABSL_FLAG(double, session_minutes, 0, "stop this invocation after so many minutes (resume later)");
ABSL_FLAG(int, batch, 16, "sequences per step");
ABSL_FLAG(int, seq, 512, "tokens per sequence");
ABSL_FLAG(double, lr, 2e-3, "peak learning rate");
ABSL_FLAG(int, threads, 2, "intra-op threads");
ABSL_FLAG(int, d_model, 192, "model width");
ABSL_FLAG(int, n_layers, 4, "layers");
ABSL_FLAG(int, n_heads, 3, "attention heads");
ABSL_FLAG(int, d_ff, 768, "MLP width");
ABSL_FLAG(int, window, 256, "attention window");
ABSL_FLAG(int, seed, 1, "random seed");
ABSL_FLAG(std::string, eval_file, "",
          "print the float model's bits/byte on this file, coded as lmc does with "
          "--chunk 512 (chunks of 512 bytes, each opened by BOS), and exit");
ABSL_FLAG(double, checkpoint_minutes, 5, "minutes between checkpoints");
ABSL_FLAG(std::string, init, "",
          "fine-tune: start a fresh run from this checkpoint directory (model.pt and "
          "state.json), a model directory holding checkpoint/, or \"default\"");
ABSL_FLAG(std::string, out, "", "where the finished run's integer model goes (default RUN/export)");
ABSL_FLAG(int, warmup_steps, 100, "steps of linear learning-rate warm-up of a fresh run");
ABSL_FLAG(int, validation_percent, 2, "share of the corpus' files held out for validation");

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

nlohmann::json ReadJson(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return nlohmann::json::parse(ss.str());
}

void WriteFile(const fs::path& p, const std::string& s) {
  fs::path tmp = p;
  tmp += ".tmp";
  std::ofstream(tmp, std::ios::binary) << s;
  fs::rename(tmp, p);  // a crash mid-write never leaves a torn checkpoint
}

double EvalBitsPerByte(lmc::train::FloatModel& m, const lmc::train::Corpus& val) {
  torch::NoGradGuard ng;
  m->eval();
  std::mt19937_64 rng(777);
  double sum = 0;
  int n = 0;
  for (int i = 0; i < 4; ++i) {
    auto [in, tg] = val.Sample(16, 512, rng);
    auto logits = m->forward(in);
    sum += torch::cross_entropy_loss(logits.view({-1, 256}), tg.view({-1})).item<double>();
    ++n;
  }
  m->train();
  return sum / n / std::log(2.0);
}

// The checkpoint directory that --init names.
absl::StatusOr<fs::path> ResolveInit(const std::string& init) {
  std::vector<fs::path> candidates;
  if (init == "default") {
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) candidates.push_back(exe.parent_path() / "../share/lmc/models/default/checkpoint");
    candidates.push_back(fs::path(LMC_SOURCE_MODELS_DIR) / "default/checkpoint");
  } else {
    candidates.push_back(fs::path(init) / "checkpoint");
    candidates.push_back(init);
  }
  for (const fs::path& c : candidates) {
    if (fs::exists(c / "state.json") && fs::exists(c / "model.pt")) return c.lexically_normal();
  }
  return absl::NotFoundError(absl::StrCat(
      "--init ", init, ": no float checkpoint (model.pt and state.json) there; fine-tuning "
      "needs the float weights a model was trained with, not its integer export"));
}

int Fail(const absl::Status& s) {
  std::fprintf(stderr, "lmc-train: %s\n", std::string(s.message()).c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("trains and exports lmc models");
  absl::ParseCommandLine(argc, argv);
  torch::set_num_threads(absl::GetFlag(FLAGS_threads));
  const fs::path run = absl::GetFlag(FLAGS_run);
  fs::create_directories(run);

  lmc::ModelConfig cfg;
  nlohmann::json state;
  const bool resume = fs::exists(run / "state.json");
  fs::path init;
  if (!resume && !absl::GetFlag(FLAGS_init).empty()) {
    auto i = ResolveInit(absl::GetFlag(FLAGS_init));
    if (!i.ok()) return Fail(i.status());
    init = *i;
  }
  if (resume) {
    state = ReadJson(run / "state.json");
    auto c = lmc::ModelConfig::FromJson(state["config"].dump());
    if (!c.ok()) return Fail(c.status());
    cfg = *c;
  } else if (!init.empty()) {
    const nlohmann::json from = ReadJson(init / "state.json");
    auto c = lmc::ModelConfig::FromJson(from["config"].dump());
    if (!c.ok()) return Fail(c.status());
    cfg = *c;
    state = {{"step", 0}, {"total_steps", absl::GetFlag(FLAGS_steps)},
             {"tokens_seen", 0}, {"config", nlohmann::json::parse(cfg.ToJson())},
             {"seed", absl::GetFlag(FLAGS_seed)}, {"init", init.string()},
             {"init_tokens_seen", from.value("tokens_seen", int64_t{0})},
             {"warmup_steps", absl::GetFlag(FLAGS_warmup_steps)}};
  } else {
    cfg.d_model = absl::GetFlag(FLAGS_d_model);
    cfg.n_layers = absl::GetFlag(FLAGS_n_layers);
    cfg.n_heads = absl::GetFlag(FLAGS_n_heads);
    cfg.d_ff = absl::GetFlag(FLAGS_d_ff);
    cfg.window = absl::GetFlag(FLAGS_window);
    if (auto s = cfg.Validate(); !s.ok()) return Fail(s);
    state = {{"step", 0}, {"total_steps", absl::GetFlag(FLAGS_steps)},
             {"tokens_seen", 0}, {"config", nlohmann::json::parse(cfg.ToJson())},
             {"seed", absl::GetFlag(FLAGS_seed)},
             {"warmup_steps", absl::GetFlag(FLAGS_warmup_steps)}};
  }
  torch::manual_seed(state["seed"].get<int>());
  lmc::train::FloatModel model(cfg);
  const int64_t params = [&] {
    int64_t n = 0;
    for (auto& p : model->parameters()) n += p.numel();
    return n;
  }();
  torch::optim::AdamW opt(model->parameters(),
                          torch::optim::AdamWOptions(absl::GetFlag(FLAGS_lr))
                              .betas({0.9, 0.98})
                              .weight_decay(0.01));
  try {
    if (resume) {
      torch::load(model, (run / "model.pt").string());
      torch::load(opt, (run / "optim.pt").string());
    } else if (!init.empty()) {
      torch::load(model, (init / "model.pt").string());  // fresh optimiser state
    }
  } catch (const c10::Error& e) {
    return Fail(absl::DataLossError(absl::StrCat("cannot load checkpoint: ", e.what_without_backtrace())));
  }

  const int val_percent = absl::GetFlag(FLAGS_validation_percent);
  auto train = lmc::train::Corpus::Load(absl::GetFlag(FLAGS_data), false, val_percent);
  if (!train.ok()) return Fail(train.status());
  auto val = lmc::train::Corpus::Load(absl::GetFlag(FLAGS_data), true, val_percent);
  if (!val.ok()) return Fail(val.status());
  std::fprintf(stderr,
               "lmc-train: %lld parameters, %s; train %zu files %.1f MB, validation "
               "%zu files %.1f MB; %s at step %lld\n",
               static_cast<long long>(params), cfg.ToJson().c_str(), train->files(),
               train->bytes() / 1e6, val->files(), val->bytes() / 1e6,
               resume ? "resuming" : init.empty() ? "starting" : "fine-tuning",
               static_cast<long long>(state["step"].get<int64_t>()));

  auto save = [&] {
    torch::save(model, (run / "model.pt.tmp").string());
    fs::rename(run / "model.pt.tmp", run / "model.pt");
    torch::save(opt, (run / "optim.pt.tmp").string());
    fs::rename(run / "optim.pt.tmp", run / "optim.pt");
    WriteFile(run / "state.json", state.dump(2));
  };
  auto do_export = [&](const fs::path& dir) -> int {
    auto bytes = lmc::train::ExportIntModel(model, *val);
    if (!bytes.ok()) return Fail(bytes.status());
    fs::create_directories(dir);
    WriteFile(dir / "model.safetensors", *bytes);
    WriteFile(dir / "config.json", cfg.ToJson() + "\n");
    std::fprintf(stderr, "lmc-train: wrote %s (%zu bytes)\n",
                 (dir / "model.safetensors").c_str(), bytes->size());
    return 0;
  };
  if (!absl::GetFlag(FLAGS_eval_file).empty()) {
    std::ifstream in(absl::GetFlag(FLAGS_eval_file), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string text = ss.str();
    torch::NoGradGuard ng;
    model->eval();
    double bits = 0;
    for (size_t pos = 0; pos < text.size(); pos += 512) {
      const int64_t n = static_cast<int64_t>(std::min<size_t>(512, text.size() - pos));
      auto inp = torch::empty({1, n}, torch::kInt64), tgt = torch::empty({1, n}, torch::kInt64);
      for (int64_t t = 0; t < n; ++t) {
        tgt[0][t] = static_cast<uint8_t>(text[pos + t]);
        inp[0][t] = t == 0 ? 256 : static_cast<uint8_t>(text[pos + t - 1]);
      }
      auto logits = model->forward(inp);
      bits += torch::cross_entropy_loss(logits.view({-1, 256}), tgt.view({-1}),
                                        {}, torch::Reduction::Sum).item<double>() / std::log(2.0);
    }
    std::printf("%.4f bits/byte (float) on %zu bytes\n", bits / text.size(), text.size());
    return 0;
  }
  if (!absl::GetFlag(FLAGS_export_to).empty()) {
    return do_export(absl::GetFlag(FLAGS_export_to));
  }

  const int batch = absl::GetFlag(FLAGS_batch), seq = absl::GetFlag(FLAGS_seq);
  const double peak_lr = absl::GetFlag(FLAGS_lr);
  const int64_t warmup = state.value("warmup_steps", 100);
  std::mt19937_64 rng(state["seed"].get<int>() * 1000003ull + state["step"].get<int64_t>());
  const auto t0 = Clock::now();
  const int64_t tokens_at_start = state["tokens_seen"].get<int64_t>();
  auto last_ckpt = t0;
  const double session_s = absl::GetFlag(FLAGS_session_minutes) * 60;
  double loss_acc = 0;
  int loss_n = 0;
  model->train();
  while (true) {
    int64_t step = state["step"].get<int64_t>();
    int64_t total = state["total_steps"].get<int64_t>();
    if (total > 0 && step >= total) break;
    const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
    if (total == 0 && step >= 10 && !resume) {
      // Fresh time-budgeted run: fix the schedule from the measured step time.
      total = std::max<int64_t>(warmup * 2, static_cast<int64_t>(
          absl::GetFlag(FLAGS_minutes) * 60 / (elapsed / step)));
      state["total_steps"] = total;
      std::fprintf(stderr, "lmc-train: %.2f s/step, schedule of %lld steps\n",
                   elapsed / step, static_cast<long long>(total));
    }
    if (session_s > 0 && elapsed > session_s) break;
    const double horizon = total > 0 ? total : 1e9;
    double lr = step < warmup ? peak_lr * (step + 1) / warmup
                              : peak_lr * (0.1 + 0.9 * 0.5 * (1 + std::cos(M_PI * std::min(1.0, (step - warmup) / std::max(1.0, horizon - warmup)))));
    for (auto& g : opt.param_groups()) g.options().set_lr(lr);
    auto [in, tg] = train->Sample(batch, seq, rng);
    auto logits = model->forward(in);
    auto loss = torch::cross_entropy_loss(logits.view({-1, 256}), tg.view({-1}));
    opt.zero_grad();
    loss.backward();
    torch::nn::utils::clip_grad_norm_(model->parameters(), 1.0);
    opt.step();
    loss_acc += loss.item<double>();
    ++loss_n;
    state["step"] = step + 1;
    state["tokens_seen"] = state["tokens_seen"].get<int64_t>() + int64_t{batch} * seq;
    if ((step + 1) % 50 == 0) {
      std::fprintf(stderr, "step %lld/%lld lr %.2e train %.3f bits/byte %.0f tokens/s\n",
                   static_cast<long long>(step + 1), static_cast<long long>(total), lr,
                   loss_acc / loss_n / std::log(2.0),
                   double(state["tokens_seen"].get<int64_t>() - tokens_at_start) /
                       std::max(1.0, std::chrono::duration<double>(Clock::now() - t0).count()));
      loss_acc = 0, loss_n = 0;
    }
    if ((step + 1) % 500 == 0) {
      double v = EvalBitsPerByte(model, *val);
      state["val_bits_per_byte"] = v;
      std::fprintf(stderr, "step %lld validation %.3f bits/byte\n",
                   static_cast<long long>(step + 1), v);
    }
    if (std::chrono::duration<double>(Clock::now() - last_ckpt).count() >
        absl::GetFlag(FLAGS_checkpoint_minutes) * 60) {
      save();
      last_ckpt = Clock::now();
    }
  }
  double v = EvalBitsPerByte(model, *val);
  state["val_bits_per_byte"] = v;
  save();
  std::fprintf(stderr, "lmc-train: stopped at step %lld, validation %.3f bits/byte\n",
               static_cast<long long>(state["step"].get<int64_t>()), v);
  if (state["total_steps"].get<int64_t>() > 0 &&
      state["step"].get<int64_t>() >= state["total_steps"].get<int64_t>()) {
    const std::string out = absl::GetFlag(FLAGS_out);
    return do_export(out.empty() ? run / "export" : fs::path(out));
  }
  return 0;
}
