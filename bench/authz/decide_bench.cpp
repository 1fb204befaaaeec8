// The cost of shadow evaluation on Engine::Decide (no recorder: evaluation only), on the gateway
// interop scenario's policies and entities: nothing staged vs the same set staged as the shadow.
//   cmake --preset bench && cmake --build --preset bench --target authz_bench
//   build/bench/bench/authz/authz_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include <benchmark/benchmark.h>

#include "authz/engine.h"
#include "store/sqlite_store.h"

namespace {

using namespace writ;

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// One engine over a temp-dir store with the gateway scenario applied twice (v1 active, v2 to stage).
struct Bench {
  std::string dir;
  std::unique_ptr<store::SqliteStore> store;
  std::unique_ptr<authz::Engine> engine;
  authz::DecisionRequest request;

  Bench() {
    std::string pattern = (std::filesystem::temp_directory_path() / "writ-bench-XXXXXX").string();
    dir = ::mkdtemp(pattern.data());
    store = store::SqliteStore::Open(dir + "/writ.db").value();
    engine = authz::Engine::Create({.store = &store->policies()}).value();
    const std::filesystem::path scenario = std::filesystem::path(WRIT_SOURCE_DIR) / "tests/integration/authzen/gateway";
    authz::PolicySource source;
    source.files["policies.cedar"] = ReadFile(scenario / "policies.cedar");
    source.files["entities.json"] = ReadFile(scenario / "entities.json");
    const int64_t version = engine->Apply(source, "bench", "").value().version;
    (void)engine->Activate(version, "bench", "").value();
    (void)engine->Apply(source, "bench", "").value();
    // An editor POSTing to /todos (allow through the role hierarchy), as bench/authz/post.lua.
    request.principal = {"identity", "CiRmZDE2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs"};
    request.action = {"Action", "POST"};
    request.resource = {"route", "/todos"};
  }
  ~Bench() { std::filesystem::remove_all(dir); }
};

Bench& Shared() {
  static Bench bench;
  return bench;
}

void BM_DecideNoShadow(benchmark::State& state) {
  Bench& bench = Shared();
  if (bench.engine->shadow_report().staged) (void)bench.engine->Unstage("bench", "");
  for (auto _ : state) benchmark::DoNotOptimize(bench.engine->Decide(bench.request));
}
BENCHMARK(BM_DecideNoShadow);

void BM_DecideShadowStaged(benchmark::State& state) {
  Bench& bench = Shared();
  if (!bench.engine->shadow_report().staged) (void)bench.engine->Stage(2, "bench", "").value();
  for (auto _ : state) benchmark::DoNotOptimize(bench.engine->Decide(bench.request));
  (void)bench.engine->Unstage("bench", "");
}
BENCHMARK(BM_DecideShadowStaged);

}  // namespace

BENCHMARK_MAIN();
