// The validator against the official Cedar corpus: for every test file, `shouldValidate` must
// equal "our validator accepts the policies", and every request marked `validateRequest` must pass
// request validation. Prints the agreement count and the disagreements.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cedar_corpus.h"

#include "cedar/authorizer.h"
#include "cedar/policy.h"
#include "cedar/schema.h"
#include "cedar/validator.h"
#include "common/json.h"

namespace writ::cedar {
namespace {

namespace fs = std::filesystem;

const fs::path kSharedCedar = testing::SharedCedarDir();

struct Tally {
  size_t files = 0;
  size_t agreed = 0;
  size_t requests_checked = 0;
  size_t rejected = 0;              // files our validator rejects
  size_t accepted_with_warning = 0; // accepted, with an impossible-policy warning
  std::vector<std::string> disagreements;
};

void RunFile(const fs::path& root, const fs::path& test_path, Tally& tally) {
  ++tally.files;
  const std::string name = test_path.filename().string();
  auto disagree = [&](const std::string& why) { tally.disagreements.push_back(name + ": " + why); };
  auto doc = json::Parse(testing::ReadTextFile(test_path), {.max_bytes = 64 << 20, .max_depth = 256});
  if (!doc) return disagree("bad test json: " + doc.error().message);
  auto field = [&](const char* key) -> std::string {
    const json::Value* v = doc->Find(key);
    return v != nullptr && v->is_string() ? v->as_string() : "";
  };
  const json::Value* should = doc->Find("shouldValidate");
  const bool should_validate = should != nullptr && should->is_bool() && should->as_bool();
  auto policies = ParsePolicySet(testing::ReadTextFile(root / field("policies")));
  if (!policies) return disagree("policy parse: " + policies.error().front().ToString());
  auto schema = ParseSchema(testing::ReadTextFile(root / field("schema")));
  if (!schema) return disagree("schema parse: " + schema.error().message);
  Validator validator(*schema);
  ValidationResult result = validator.Validate(*policies);
  if (!result.ok()) ++tally.rejected;
  if (result.ok() && !result.warnings.empty()) ++tally.accepted_with_warning;
  if (result.ok() != should_validate) {
    std::string why = std::string("shouldValidate ") + (should_validate ? "true" : "false") + " but we " +
                      (result.ok() ? "accept" : "reject");
    for (const auto& e : result.errors) why += " | " + e.ToString();
    for (const auto& w : result.warnings) why += " | warning: " + w.ToString();
    return disagree(why);
  }
  const json::Value* requests = doc->Find("requests");
  if (requests != nullptr && requests->is_array()) {
    size_t i = 0;
    for (const auto& q : requests->as_array()) {
      const json::Value* vr = q.Find("validateRequest");
      ++i;
      if (vr == nullptr || !vr->is_bool() || !vr->as_bool()) continue;
      ++tally.requests_checked;
      auto request = RequestFromJson(q, &*schema);
      if (!request) return disagree("request " + std::to_string(i - 1) + " does not parse: " + request.error().message);
      auto valid = validator.ValidateRequest(*request);
      if (!valid) return disagree("request " + std::to_string(i - 1) + " rejected: " + valid.error().message);
    }
  }
  ++tally.agreed;
}

void Report(const char* label, const Tally& t) {
  std::printf(
      "[cedar validation] %s: %zu/%zu files agree (%zu rejected, %zu accepted with a warning, %zu requests "
      "validated)\n",
      label, t.agreed, t.files, t.rejected, t.accepted_with_warning, t.requests_checked);
  size_t shown = 0;
  for (const auto& d : t.disagreements) {
    if (++shown > 80) break;
    std::printf("  DISAGREE %s\n", d.c_str());
  }
}

TEST(CedarValidationConformance, HandwrittenTestsAgree) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(kSharedCedar / "tests")) {
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  Tally tally;
  for (const auto& f : files) RunFile(kSharedCedar, f, tally);
  Report("handwritten", tally);
  EXPECT_EQ(tally.files, 22u);
  EXPECT_EQ(tally.agreed, tally.files);
}

TEST(CedarValidationConformance, CorpusAgrees) {
  const fs::path root = testing::UnpackedCorpusRoot();
  ASSERT_FALSE(root.empty()) << "cannot unpack the corpus from " << kSharedCedar;
  const std::vector<fs::path> files = testing::CorpusTestFiles(root);
  Tally tally;
  for (const auto& f : files) RunFile(root, f, tally);
  Report("corpus", tally);
  EXPECT_EQ(tally.files, 7809u);
  EXPECT_EQ(tally.agreed, tally.files);
}

}  // namespace
}  // namespace writ::cedar
