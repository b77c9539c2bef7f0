# Unity builds (FERRY_UNITY_BUILD, on by default): CMake compiles each target's sources
# in batches of 8, one translation unit per batch. Most of ferry's compile time is not its
# own code but what every file repeats: parsing nlohmann/json, CLI11, Abseil and
# GoogleTest, and compiling the same json, CLI11 and gtest template instantiations and
# inline functions at -O3 once per file. A batch pays for them once: 8 ferry_cli files
# compile in 16 s instead of 66 s. The code generated is the same -O3 code.
#
# Files in one batch share one scope, so two files of a target that define the same name
# in an anonymous namespace (or a file whose lookups another file's names would change)
# cannot share a batch: they are compiled on their own, listed below with the clash.
# A new clash shows as "redefinition of '...{anonymous}::NAME'" naming both files:
# rename one of them or add a file here. -DFERRY_UNITY_BUILD=OFF builds file by file.
set(ferry_unity_alone
  src/auth/token_store.cc             # kColumns (access_policy.cc, audit_log.cc)
  src/cli/demo_replay.cc              # kMicrosPerDay (demo_loop.cc)
  src/cli/models_command.cc           # Time, RunList, RunShow (runs_command.cc, ...)
  src/cli/pipeline_run_command.cc     # kMaxSpecBytes, FirstLine (pipeline_command.cc)
  src/demo/world.cc                   # kCountries, kCategories, Sigmoid (transactions.cc)
  src/demo/world_files.cc             # kFlushBytes (transactions.cc)
  src/features/rocksdb_online_store.cc  # RandomId (redis_online_store.cc)
  src/store/object_store.cc           # object_encoding::kMagic (manifest.cc)
  src/store/sqlite_metadata_store.cc  # kMaxCachedStatements; a member's anonymous type
  tests/alerts/rule_file_test.cc      # testing::TempDir would find ferry::alerts::testing
  tests/auth/token_store_test.cc      # Spec
  tests/e2e/features_online_e2e_test.cc  # kDefinitions
  tests/features/offline_online_agreement_test.cc  # kDefinitions
  tests/features/online_features_test.cc  # kDefinitions
  tests/serving/rollout_store_test.cc     # MessageOf
  tests/serving/shared_figures_test.cc    # kStart
  tests/stats/scipy_parity_test.cc        # Value
  tests/stats/two_sample_tests_test.cc    # kNan
  tests/store/garbage_collection_test.cc  # kSmall
  tests/store/object_batch_test.cc        # EntriesIn
  tests/store/object_store_test.cc        # kMiB, Noise, EntriesIn, ReadFile
)
if(CMAKE_UNITY_BUILD)
  foreach(file ${ferry_unity_alone})
    get_filename_component(dir ${file} DIRECTORY)
    set_source_files_properties(${PROJECT_SOURCE_DIR}/${file} DIRECTORY ${PROJECT_SOURCE_DIR}/${dir}
                                PROPERTIES SKIP_UNITY_BUILD_INCLUSION ON)
  endforeach()
endif()
