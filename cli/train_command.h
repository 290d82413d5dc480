// `lmc train`: fine-tunes a model on a user's files, the way one trains a zstd
// dictionary. It runs lmc-train (the only LibTorch binary) with fine-tuning
// settings; the CLI itself never links LibTorch.
//
//   lmc train --init default --corpus messages/ -o my-model [--minutes 5]
//   lmc -m my-model compress message.json
//
// my-model/ gets model.safetensors and config.json (what -m loads) and
// checkpoint/ (the float run: the same command again resumes it; --init
// my-model fine-tunes it further).
#ifndef LMC_CLI_TRAIN_COMMAND_H_
#define LMC_CLI_TRAIN_COMMAND_H_

namespace lmc {

// argv[1] is "train". Returns an exit code, or does not return (exec).
int RunTrainCommand(int argc, char** argv);

}  // namespace lmc

#endif  // LMC_CLI_TRAIN_COMMAND_H_
