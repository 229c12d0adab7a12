#include "pyfold/command_line.hpp"

#include <cstring>
#include <sstream>

namespace po = boost::program_options;

namespace pyfold {

po::options_description_easy_init add_standard_options(po::options_description& options, std::string& output,
                                                       const char* output_help) {
  return add_help_and_version(options)("output,o", po::value(&output)->value_name("FILE"), output_help);
}

po::options_description_easy_init add_help_and_version(po::options_description& visible) {
  return visible.add_options()("help,h", "this message")("version,V", "print the version");
}

namespace {

// Tabs and newlines would break the table's one-line-per-option form.
std::string one_line(std::string text) {
  for (char& c : text)
    if (c == '\t' || c == '\n') c = ' ';
  return text;
}

}  // namespace

std::string options_table(const po::options_description& visible) {
  std::ostringstream table;
  std::ostringstream help;  // its first line is the caption's (Boost 1.74 has no accessor for the caption)
  help << visible;
  const std::string help_text = help.str();
  table << "usage\t" << one_line(help_text.substr(0, help_text.find('\n'))) << "\n";
  for (const auto& option : visible.options()) {
    const std::string& long_name = option->long_name();
    std::string short_name = option->canonical_display_name(po::command_line_style::allow_dash_for_short);
    if (short_name.size() != 2 || short_name[0] != '-' || short_name == "--") short_name.clear();
    bool takes_value = option->semantic()->max_tokens() > 0;
    // Boost writes a value's name as "NAME" or "NAME (=DEFAULT)", as --help shows it.
    std::string value_name = takes_value ? option->semantic()->name() : "", default_text;
    auto mark = value_name.find(" (=");
    if (mark != std::string::npos && value_name.back() == ')') {
      default_text = value_name.substr(mark + 3, value_name.size() - mark - 4);
      value_name.resize(mark);
    }
    table << "option\t" << long_name << "\t" << short_name << "\t" << (takes_value ? 1 : 0) << "\t"
          << one_line(value_name) << "\t" << one_line(default_text) << "\t" << one_line(option->description())
          << "\n";
  }
  return table.str();
}

void answer_options_table_request(int argc, const char* const* argv, const po::options_description& visible) {
  if (argc >= 2 && std::strcmp(argv[1], kOptionsTableFlag) == 0) throw OptionsTableRequest{options_table(visible)};
}

po::variables_map parse_options_and_inputs(int argc, const char* const* argv, const po::options_description& visible,
                                           std::vector<std::string>& inputs, const std::string& see_also,
                                           std::string& help_text, bool& help, bool& version) {
  answer_options_table_request(argc, argv, visible);
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
