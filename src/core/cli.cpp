#include "pyfold/cli.hpp"

#include <boost/program_options/errors.hpp>
#include <cstdio>
#include <stdexcept>

#include "pyfold/command_line.hpp"
#include "pyfold/diagnostics.hpp"
#include "pyfold/io.hpp"
#include "version.hpp"

namespace pyfold {

int run_cli(const char* program, const std::function<int()>& body) {
  try {
    return body();
  } catch (const OptionsTableRequest& request) {
    std::fputs(request.text.c_str(), stdout);
    return 0;
  } catch (const BrokenPipe&) {
    return 141;
  } catch (const InputError& e) {
    std::fprintf(stderr, "%s: %s\n", program, e.what());  // "source:line: reason", after the tool's name
    return 2;
  } catch (const IoError& e) {
    std::fprintf(stderr, "%s: %s\n", program, e.what());
    return 1;
  } catch (const boost::program_options::error& e) {
    std::fprintf(stderr, "%s: %s\nTry '%s --help'.\n", program, e.what(), program);
    return 2;
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "%s: %s\nTry '%s --help'.\n", program, e.what(), program);
    return 2;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "%s: out of memory\n", program);
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", program, e.what());
    return 1;
  }
}

std::string version_line(const char* program) { return std::string(program) + " (pyfold) " PYFOLD_VERSION; }

}  // namespace pyfold
