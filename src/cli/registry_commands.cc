#include "cli/registry_commands.h"

#include "core/status.h"
#include "core/strings.h"

namespace ferry::cli {

absl::StatusOr<OpenedRegistry> OpenRegistry(CliContext& context) {
  OpenedRegistry opened;
  ASSIGN_OR_RETURN(opened.workspace, context.OpenWorkspace());
  ASSIGN_OR_RETURN(opened.datasets, dataset::DatasetStore::Open(*opened.workspace));
  ASSIGN_OR_RETURN(opened.features,
                   features::FeatureRegistry::Open(*opened.workspace, *opened.datasets));
  ASSIGN_OR_RETURN(opened.tracking,
                   tracking::TrackingStore::Open(*opened.workspace, *opened.datasets));
  ASSIGN_OR_RETURN(opened.models,
                   registry::ModelRegistry::Open(*opened.workspace, *opened.datasets,
                                                 *opened.features, *opened.tracking));
  return opened;
}

absl::StatusOr<std::pair<std::string, std::string>> SplitKeyValue(std::string_view text,
                                                                  std::string_view what) {
  const size_t eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return absl::InvalidArgumentError(
        core::Cat(what, " ", text, ": expected KEY=VALUE"));
  }
  return std::make_pair(std::string(text.substr(0, eq)), std::string(text.substr(eq + 1)));
}

std::string Actor(const CliContext& context, const std::string& flag) {
  if (!flag.empty()) return flag;
  if (context.env().user && !context.env().user->empty()) return *context.env().user;
  return "unknown";
}

}  // namespace ferry::cli
