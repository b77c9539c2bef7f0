// `ferry data add|export|gc|verify`: the commands that write or check stored bytes.

#include <unistd.h>

#include <nlohmann/json.hpp>
#include <ostream>

#include "cli/data_commands.h"
#include "cli/output.h"
#include "cli/progress.h"
#include "core/status.h"
#include "core/strings.h"

namespace ferry::cli {
namespace {

struct AddArgs {
  std::string name;
  std::string file;
  std::string message;
  std::string tag;
  std::string format;
  bool lenient = false;
  bool json = false;
};

absl::Status RunAdd(CliContext& context, const AddArgs& args) {
  dataset::AddOptions options;
  options.message = args.message;
  if (!args.tag.empty()) options.tag = args.tag;
  options.lenient = args.lenient;
  if (!args.format.empty()) {
    std::optional<table::Format> format = table::ParseFormatName(args.format);
    if (!format) {
      return absl::InvalidArgumentError(
          core::Cat("unknown format \"", args.format, "\"; expected csv, jsonl or opaque"));
    }
    options.format = *format;
  }
  Progress progress(context.err(), core::Cat("adding ", args.file), !args.json && ::isatty(2));
  options.progress = [&progress](uint64_t done, uint64_t total) { progress.Update(done, total); };
  ASSIGN_OR_RETURN(OpenedDatasets opened, OpenDatasets(context));
  ASSIGN_OR_RETURN(dataset::AddResult added,
                   opened.datasets->Add(args.name, context.env().current_dir / args.file, options));
  progress.Done();
  const dataset::VersionRecord& v = added.version;
  std::ostream& out = context.out();
  if (args.json) {
    out << nlohmann::json{{"created", added.created},
                          {"from_cache", added.from_cache},
                          {"new_chunks", added.new_chunks},
                          {"reused_chunks", added.reused_chunks},
                          {"new_bytes", added.new_bytes},
                          {"stored_bytes", added.stored_bytes},
                          {"version", dataset::VersionToJson(v)}}
               .dump()
        << "\n";
    return absl::OkStatus();
  }
  if (!added.created) {
    out << v.Ref() << " unchanged: the file's bytes equal the latest version; no new version"
        << (added.from_cache ? " (recognised without reading it)" : "") << "\n";
  } else {
    out << "added " << v.Ref() << "  sha256:" << v.content_sha256 << "\n";
    out << "  " << HumanBytes(v.size) << " in " << v.chunks << " chunks: " << added.new_chunks
        << " new (" << HumanBytes(added.new_bytes) << ", " << HumanBytes(added.stored_bytes)
        << " on disk), " << added.reused_chunks << " already stored\n";
    if (v.rows) {
      nlohmann::json schema = nlohmann::json::parse(v.schema_json, nullptr, false);
      out << "  " << table::FormatName(v.format) << ": " << *v.rows << " rows, "
          << (schema.is_array() ? schema.size() : 0) << " columns";
      if (v.bad_rows > 0) out << ", " << v.bad_rows << " bad rows skipped (--lenient)";
      out << "\n";
    } else {
      out << "  stored as opaque bytes: no schema or statistics\n";
    }
  }
  for (const auto& tag : v.tags) out << "  tagged " << v.dataset << "@" << tag << "\n";
  return absl::OkStatus();
}

absl::Status RunExport(CliContext& context, const std::string& ref_text, const std::string& path) {
  ASSIGN_OR_RETURN(dataset::DatasetRef ref, dataset::ParseDatasetRef(ref_text));
  ASSIGN_OR_RETURN(OpenedDatasets opened, OpenDatasets(context));
  ASSIGN_OR_RETURN(dataset::VersionRecord v,
                   opened.datasets->Export(ref, context.env().current_dir / path));
  context.out() << "exported " << v.Ref() << " to " << path << " (" << HumanBytes(v.size)
                << ", sha256:" << v.content_sha256 << " verified)\n";
  return absl::OkStatus();
}

absl::Status RunGc(CliContext& context, bool json) {
  ASSIGN_OR_RETURN(OpenedDatasets opened, OpenDatasets(context));
  ASSIGN_OR_RETURN(dataset::GcReport report, opened.datasets->CollectGarbage());
  if (json) {
    context.out() << nlohmann::json{{"objects_removed", report.objects_removed},
                                    {"bytes_removed", report.bytes_removed},
                                    {"objects_kept", report.objects_kept},
                                    {"temporary_files_removed", report.temporary_files_removed}}
                         .dump()
                  << "\n";
  } else {
    context.out() << "removed " << report.objects_removed << " unreferenced objects ("
                  << HumanBytes(report.bytes_removed) << "), kept " << report.objects_kept
                  << "; removed " << report.temporary_files_removed << " temporary files\n";
  }
  return absl::OkStatus();
}

absl::Status RunVerify(CliContext& context, bool json) {
  ASSIGN_OR_RETURN(OpenedDatasets opened, OpenDatasets(context));
  Progress progress(context.err(), "verifying", !json && ::isatty(2));
  ASSIGN_OR_RETURN(dataset::VerifyReport report,
                   opened.datasets->Verify([&](uint64_t done) { progress.Update(done, 0); }));
  progress.Done();
  if (json) {
    context.out() << nlohmann::json{{"versions_checked", report.versions_checked},
                                    {"bytes_checked", report.bytes_checked},
                                    {"problems", report.problems}}
                         .dump()
                  << "\n";
  } else {
    context.out() << "verified " << report.versions_checked << " versions ("
                  << HumanBytes(report.bytes_checked) << "): "
                  << (report.problems.empty() ? "ok" : core::Cat(report.problems.size(), " damaged"))
                  << "\n";
    for (const auto& problem : report.problems) context.out() << "  " << problem << "\n";
  }
  if (!report.problems.empty()) {
    return absl::DataLossError(core::Cat(report.problems.size(), " dataset versions are damaged"));
  }
  return absl::OkStatus();
}

}  // namespace

void AddDataWriteCommands(CLI::App& data, CliContext& context, absl::Status* result) {
  CLI::App* add = data.add_subcommand(
      "add", "Store FILE as the next version of dataset NAME (chunked, deduplicated, profiled)");
  auto args = std::make_shared<AddArgs>();
  add->add_option("NAME", args->name, "Dataset name")->required();
  add->add_option("FILE", args->file, "File to add (CSV, JSON Lines, or any bytes)")->required();
  add->add_option("-m,--message", args->message, "What this version is");
  add->add_option("--tag", args->tag, "Tag the new version (NAME@TAG then resolves to it)");
  add->add_option("--format", args->format, "csv, jsonl or opaque (default: from the extension)");
  add->add_flag("--lenient", args->lenient, "Skip and count malformed rows instead of failing");
  add->add_flag("--json", args->json, "Print JSON");
  add->callback([&context, result, args] { *result = RunAdd(context, *args); });

  CLI::App* exp = data.add_subcommand(
      "export", "Rebuild a version's file at PATH, byte-identical and verified");
  auto ref = std::make_shared<std::string>();
  auto path = std::make_shared<std::string>();
  exp->add_option("REF", *ref, "NAME, NAME@N or NAME@TAG")->required();
  exp->add_option("PATH", *path, "Where to write the file (replaced if it exists)")->required();
  exp->callback([&context, result, ref, path] { *result = RunExport(context, *ref, *path); });

  CLI::App* gc = data.add_subcommand("gc", "Remove stored chunks no dataset version references");
  auto gc_json = std::make_shared<bool>(false);
  gc->add_flag("--json", *gc_json, "Print JSON");
  gc->callback([&context, result, gc_json] { *result = RunGc(context, *gc_json); });

  CLI::App* verify = data.add_subcommand(
      "verify", "Re-read every version: every chunk and whole-file SHA-256, manifests, profiles");
  auto verify_json = std::make_shared<bool>(false);
  verify->add_flag("--json", *verify_json, "Print JSON");
  verify->callback([&context, result, verify_json] { *result = RunVerify(context, *verify_json); });
}

}  // namespace ferry::cli
