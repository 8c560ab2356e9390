#include "tools/agent/config_file.h"

#include <sys/stat.h>
#include <toml++/toml.h>

#include <CLI/CLI.hpp>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace roster::tools {
namespace {

absl::Status Bad(const std::string& path, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("--config ", path, ": ", why));
}

std::string Where(const toml::source_region& at) {
  return absl::StrCat("line ", at.begin.line, ", column ", at.begin.column);
}

// A scalar's text as the flag takes it; nullopt for a table, an array or a
// date.
std::optional<std::string> Scalar(const toml::node& value) {
  if (auto s = value.value<std::string>(); s && value.is_string()) return *s;
  if (value.is_integer()) return std::to_string(*value.value<int64_t>());
  if (value.is_floating_point()) {
    std::ostringstream out;
    out << *value.value<double>();
    return out.str();
  }
  if (value.is_boolean()) return *value.value<bool>() ? "true" : "false";
  return std::nullopt;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ConfigFileArgs(const std::string& path,
                                                        const CLI::App& agent) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
    return Bad(path, "not a readable file");
  if (static_cast<size_t>(st.st_size) > kMaxConfigFileBytes)
    return Bad(path, absl::StrCat("over ", kMaxConfigFileBytes, " bytes"));
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) return Bad(path, "cannot be read");
  toml::table table;
  try {
    table = toml::parse(text.str(), path);
  } catch (const toml::parse_error& e) {
    return Bad(path, absl::StrCat(std::string(e.description()), " at ",
                                  Where(e.source())));
  }
  std::vector<std::string> args;
  for (auto&& [key, value] : table) {
    const std::string name =
        absl::StrReplaceAll(std::string(std::string(key.str())), {{"_", "-"}});
    const std::string flag = absl::StrCat("--", name);
    const CLI::Option* option = agent.get_option_no_throw(flag);
    if (option == nullptr || name == "config" || name == "help")
      return Bad(path, absl::StrCat("'", std::string(key.str()), "' (",
                                    Where(key.source()),
                                    ") is no flag of roster agent"));
    const bool single = option->get_expected_max() == 1;
    if (option->get_expected_max() == 0) {  // a switch
      if (!value.is_boolean())
        return Bad(path,
                   absl::StrCat("'", std::string(key.str()), "' (",
                                Where(key.source()), ") is true or false"));
      if (*value.value<bool>()) args.push_back(flag);
      continue;
    }
    if (const toml::array* list = value.as_array()) {
      if (single)
        return Bad(path, absl::StrCat("'", std::string(key.str()), "' (",
                                      Where(key.source()),
                                      ") takes one value, not a list"));
      for (const toml::node& item : *list) {
        auto text = Scalar(item);
        if (!text)
          return Bad(path, absl::StrCat("'", std::string(key.str()), "' (",
                                        Where(item.source()),
                                        ") holds a value that is no string, "
                                        "number or boolean"));
        args.push_back(flag);
        args.push_back(*text);
      }
      continue;
    }
    auto text = Scalar(value);
    if (!text)
      return Bad(path, absl::StrCat("'", std::string(key.str()), "' (",
                                    Where(key.source()),
                                    ") is no string, number or boolean"));
    args.push_back(flag);
    args.push_back(*text);
  }
  return args;
}

absl::StatusOr<std::vector<std::string>> ExpandConfigFiles(
    const std::vector<std::string>& args, const CLI::App& agent) {
  std::vector<std::string> from_files;
  std::vector<std::string> rest;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string path;
    if (args[i] == "--config") {
      if (i + 1 == args.size())
        return absl::InvalidArgumentError("--config needs a FILE");
      path = args[++i];
    } else if (args[i].rfind("--config=", 0) == 0) {
      path = args[i].substr(9);
    } else {
      rest.push_back(args[i]);
      continue;
    }
    auto settings = ConfigFileArgs(path, agent);
    if (!settings.ok()) return settings.status();
    from_files.insert(from_files.end(), settings->begin(), settings->end());
  }
  from_files.insert(from_files.end(), rest.begin(), rest.end());
  return from_files;
}

}  // namespace roster::tools
