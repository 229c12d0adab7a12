#include "pyfold/command_line.hpp"

#include <sstream>

namespace po = boost::program_options;

namespace pyfold {

po::options_description_easy_init add_standard_options(po::options_description& options, std::string& output,
                                                       const char* output_help, bool short_help) {
  return options.add_options()(short_help ? "help,h" : "help", "this message")("version", "print the version")(
      "output,o", po::value(&output)->value_name("FILE"), output_help);
}

po::variables_map parse_options_and_inputs(int argc, const char* const* argv, const po::options_description& visible,
                                           std::vector<std::string>& inputs, const std::string& see_also,
                                           std::string& help_text, bool& help, bool& version) {
  po::options_description all;
  all.add(visible).add_options()("input", po::value(&inputs));
  po::positional_options_description positional;
  positional.add("input", -1);
  po::variables_map vm;
  po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), vm);
  po::notify(vm);
  std::ostringstream text;
  text << visible << "\n" << see_also << "\n";
  help_text = text.str();
  help = vm.count("help") > 0;
  version = vm.count("version") > 0;
  return vm;
}

}  // namespace pyfold
