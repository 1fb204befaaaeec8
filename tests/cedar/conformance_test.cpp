// Runs the official Cedar conformance corpus (cedar-integration-tests): every query's decision,
// reason set and error-policy set must equal the expected ones. The corpus tarball is unpacked
// into the build tree on first use; the handwritten tests are read in place from ../shared.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cedar_corpus.h"

#include "cedar/authorizer.h"
#include "cedar/entities.h"
#include "cedar/policy.h"
#include "cedar/schema.h"
#include "common/json.h"

namespace writ::cedar {
namespace {

namespace fs = std::filesystem;

const fs::path kSharedCedar = testing::SharedCedarDir();

struct Tally {
  size_t files = 0;
  size_t queries = 0;
  size_t passed = 0;
  std::vector<std::string> failures;
  void Fail(const std::string& what) {
    if (failures.size() < 40) failures.push_back(what);
  }
};

std::set<std::string> StringSet(const json::Value* v) {
  std::set<std::string> out;
  if (v == nullptr || !v->is_array()) return out;
  for (const auto& s : v->as_array()) {
    if (s.is_string()) out.insert(s.as_string());
  }
  return out;
}

std::string Join(const std::set<std::string>& s) {
  std::string out = "[";
  for (const auto& x : s) out += (out.size() > 1 ? "," : "") + x;
  return out + "]";
}

void RunTestFile(const fs::path& root, const fs::path& test_path, Tally& tally) {
  ++tally.files;
  std::string name = test_path.filename().string();
  auto doc = json::Parse(testing::ReadTextFile(test_path), {.max_bytes = 64 << 20, .max_depth = 256});
  if (!doc) {
    tally.Fail(name + ": bad test json: " + doc.error().message);
    return;
  }
  const json::Value* requests = doc->Find("requests");
  size_t n = requests != nullptr && requests->is_array() ? requests->as_array().size() : 0;
  tally.queries += n;
  auto field = [&](const char* key) -> std::string {
    const json::Value* v = doc->Find(key);
    return v != nullptr && v->is_string() ? v->as_string() : "";
  };
  auto policies = ParsePolicySet(testing::ReadTextFile(root / field("policies")));
  if (!policies) {
    tally.Fail(name + ": policy parse: " + policies.error().front().ToString());
    return;
  }
  auto schema = ParseSchema(testing::ReadTextFile(root / field("schema")));
  if (!schema) {
    tally.Fail(name + ": schema parse: " + schema.error().message);
    return;
  }
  auto entities = ParseEntities(testing::ReadTextFile(root / field("entities")), {.schema = &*schema});
  if (!entities) {
    tally.Fail(name + ": entities: " + entities.error().message);
    return;
  }
  Authorizer authorizer(std::move(*policies));
  for (size_t i = 0; i < n; ++i) {
    const json::Value& q = requests->as_array()[i];
    auto request = RequestFromJson(q, &*schema);
    if (!request) {
      tally.Fail(name + " #" + std::to_string(i) + ": request: " + request.error().message);
      continue;
    }
    Response r = authorizer.Authorize(*request, *entities);
    const json::Value* want_decision = q.Find("decision");
    std::string decision = r.decision == Decision::kAllow ? "allow" : "deny";
    std::set<std::string> reasons(r.reasons.begin(), r.reasons.end());
    std::set<std::string> errors;
    for (const auto& e : r.errors) errors.insert(std::string(e.policy_id));
    std::set<std::string> want_reasons = StringSet(q.Find("reason"));
    std::set<std::string> want_errors = StringSet(q.Find("errors"));
    bool ok = want_decision != nullptr && want_decision->is_string() && want_decision->as_string() == decision &&
              reasons == want_reasons && errors == want_errors;
    if (ok) {
      ++tally.passed;
    } else {
      std::string msg = name + " #" + std::to_string(i) + ": got " + decision + " " + Join(reasons) + " errors " +
                        Join(errors) + ", want " + (want_decision ? json::Serialize(*want_decision) : "?") + " " +
                        Join(want_reasons) + " errors " + Join(want_errors);
      for (const auto& e : r.errors) msg += " | " + std::string(e.policy_id) + ": " + e.message;
      tally.Fail(msg);
    }
  }
}

void Report(const char* label, const Tally& t) {
  std::printf("[cedar conformance] %s: %zu/%zu queries passed in %zu files\n", label, t.passed, t.queries, t.files);
  for (const auto& f : t.failures) std::printf("  FAIL %s\n", f.c_str());
}

TEST(CedarConformance, HandwrittenTestsAllPass) {
  Tally tally;
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(kSharedCedar / "tests")) {
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) RunTestFile(kSharedCedar, f, tally);
  Report("handwritten", tally);
  EXPECT_EQ(tally.queries, 74u);
  EXPECT_EQ(tally.passed, tally.queries);
}

TEST(CedarConformance, CorpusAllPass) {
  const fs::path root = testing::UnpackedCorpusRoot();
  ASSERT_FALSE(root.empty()) << "cannot unpack the corpus from " << kSharedCedar;
  const std::vector<fs::path> files = testing::CorpusTestFiles(root);
  Tally tally;
  for (const auto& f : files) RunTestFile(root, f, tally);
  Report("corpus", tally);
  EXPECT_EQ(tally.queries, 62472u);
  EXPECT_EQ(tally.passed, tally.queries);
}

}  // namespace
}  // namespace writ::cedar
