#pragma once
// The part of every stage's command line that is the same: options, then FILE... inputs; --help and --version.
#include <boost/program_options.hpp>
#include <string>
#include <vector>

namespace pyfold {

// Adds --help, --version and -o/--output FILE, the options every stage starts with (output_help: what -o does;
// short_help: -h too), and returns the adder for the stage's own options.
boost::program_options::options_description_easy_init add_standard_options(
    boost::program_options::options_description& options, std::string& output, const char* output_help,
    bool short_help = false);

// Parses argv against visible, with every positional argument appended to inputs. help_text becomes visible's
// description followed by see_also; help and version tell whether --help / --version were given. Returns the
// variables map for options the caller checks by presence. Throws boost::program_options::error.
boost::program_options::variables_map parse_options_and_inputs(
    int argc, const char* const* argv, const boost::program_options::options_description& visible,
    std::vector<std::string>& inputs, const std::string& see_also, std::string& help_text, bool& help,
    bool& version);

}  // namespace pyfold
