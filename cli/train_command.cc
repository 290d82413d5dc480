#include "cli/train_command.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

namespace lmc {
namespace {

namespace fs = std::filesystem;

int TrainUsage(int code) {
  std::fprintf(code ? stderr : stdout,
      "usage: lmc train --corpus DIR -o NEW [--init MODEL] [--minutes M | --steps N]\n"
      "  --corpus DIR    the files to fine-tune on (every file under DIR; messages\n"
      "                  one per file); 10%% of them are held out for validation\n"
      "  -o, --output NEW  the new model directory (model.safetensors, config.json,\n"
      "                  checkpoint/); run again to resume\n"
      "  --init MODEL    the model to start from: \"default\" (the default), or a\n"
      "                  directory made by lmc train or lmc-train\n"
      "  --minutes M     time budget (default 5); --steps N: a fixed number of steps\n"
      "  --lr X          peak learning rate (default 5e-4)\n"
      "  --threads N     threads (default: all cores)\n"
      "  --batch N, --seq N   sequences per step (16) and their length (512)\n");
  return code;
}

// lmc-train beside this binary (installed), in the build tree, or on PATH.
std::string TrainerPath() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (const fs::path& p : {exe.parent_path() / "lmc-train",
                              exe.parent_path() / "../train/lmc-train"}) {
      if (access(p.c_str(), X_OK) == 0) return p.lexically_normal().string();
    }
  }
  return "lmc-train";
}

}  // namespace

int RunTrainCommand(int argc, char** argv) {
  std::string init = "default", corpus, out, minutes = "5", steps, lr = "5e-4", batch, seq;
  std::string threads = std::to_string(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 2; i < argc; ++i) {
    const std::string f = argv[i];
    if (f == "-h" || f == "--help") return TrainUsage(0);
    if (i + 1 >= argc) return TrainUsage(1);
    const std::string v = argv[++i];
    if (f == "--init") init = v;
    else if (f == "--corpus") corpus = v;
    else if (f == "-o" || f == "--output") out = v;
    else if (f == "--minutes") minutes = v;
    else if (f == "--steps") steps = v;
    else if (f == "--lr") lr = v;
    else if (f == "--threads") threads = v;
    else if (f == "--batch") batch = v;
    else if (f == "--seq") seq = v;
    else return TrainUsage(1);
  }
  if (corpus.empty() || out.empty()) return TrainUsage(1);
  const std::string trainer = TrainerPath();
  std::vector<std::string> args = {
      trainer, "--init", init, "--data", corpus, "--run", (fs::path(out) / "checkpoint").string(),
      "--out", out, "--minutes", minutes, "--lr", lr, "--warmup_steps", "5",
      "--validation_percent", "10", "--threads", threads, "--checkpoint_minutes", "1"};
  if (!steps.empty()) args.insert(args.end(), {"--steps", steps});
  if (!batch.empty()) args.insert(args.end(), {"--batch", batch});
  if (!seq.empty()) args.insert(args.end(), {"--seq", seq});
  std::vector<char*> cargs;
  for (std::string& a : args) cargs.push_back(a.data());
  cargs.push_back(nullptr);
  execvp(trainer.c_str(), cargs.data());
  std::fprintf(stderr,
               "lmc: cannot run %s (%m): lmc train needs lmc-train, built with "
               "-DLMC_BUILD_TRAINER=ON (LibTorch)\n",
               trainer.c_str());
  return 1;
}

}  // namespace lmc
