// `lmc convert`: turns a Hugging Face checkpoint directory (config.json,
// safetensors, tokenizer.json) into one converted model file for lmc's exact
// integer inference, and reports how many bits per token the conversion costs
// against the float model on the calibration text.
//
//   lmc convert path/to/gpt2 -o gpt2.lmc [--context 1024] [--calibration FILE]
//   lmc -m gpt2.lmc compress notes.txt
#ifndef LMC_CLI_CONVERT_COMMAND_H_
#define LMC_CLI_CONVERT_COMMAND_H_

namespace lmc {

// argv[1] is "convert". Returns an exit code.
int RunConvertCommand(int argc, char** argv);

}  // namespace lmc

#endif  // LMC_CLI_CONVERT_COMMAND_H_
