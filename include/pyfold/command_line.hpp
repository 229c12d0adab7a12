#pragma once
// The part of every stage's command line that is the same: options, then FILE... inputs; --help and --version.
#include <boost/program_options.hpp>
#include <string>
#include <vector>

namespace pyfold {

// Adds -h/--help, -V/--version and -o/--output FILE, the options every stage starts with (output_help: what -o
// does), and returns the adder for the stage's own options.
boost::program_options::options_description_easy_init add_standard_options(
    boost::program_options::options_description& options, std::string& output, const char* output_help);

// -h/--help and -V/--version, the first options of every tool (as the man pages' synopses give them). Returns the
// easy_init so the tool's own options follow: add_help_and_version(visible)("output,o", ...)...
boost::program_options::options_description_easy_init add_help_and_version(
    boost::program_options::options_description& visible);

// The hidden first argument that asks a tool for the option table it parses, instead of running: the shell
// completions are generated from these tables at build time (completions/generate.py), so they cannot drift.
inline constexpr const char* kOptionsTableFlag = "--pyfold-options-table";

// Thrown when argv[1] is kOptionsTableFlag; run_cli prints text to stdout and exits 0.
struct OptionsTableRequest {
  std::string text;
};

// One line an option, tab-separated: "option LONG SHORT TAKES_VALUE VALUE_NAME DEFAULT DESCRIPTION"
// (SHORT, VALUE_NAME, DEFAULT empty when there is none); a first line "usage FIRST_LINE_OF_CAPTION".
std::string options_table(const boost::program_options::options_description& visible);

// Throws OptionsTableRequest{options_table(visible)} when argv[1] is kOptionsTableFlag; call it once the table is
// complete, before parsing.
void answer_options_table_request(int argc, const char* const* argv,
                                  const boost::program_options::options_description& visible);

// Parses argv against visible, with every positional argument appended to inputs. help_text becomes visible's
// description followed by see_also; help and version tell whether --help / --version were given. Returns the
// variables map for options the caller checks by presence. Throws boost::program_options::error.
boost::program_options::variables_map parse_options_and_inputs(
    int argc, const char* const* argv, const boost::program_options::options_description& visible,
    std::vector<std::string>& inputs, const std::string& see_also, std::string& help_text, bool& help,
    bool& version);

}  // namespace pyfold
