// A real token stack on a temp SQLite store with a fake clock: registry (with a human owner and
// an active agent `bot`), key ring, revocations, issuer and verifier.
#pragma once
#include <memory>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "common/encoding.h"
#include "common/log.h"
#include "identity/codec.h"
#include "identity/registry.h"
#include "store/sqlite_store.h"
#include "testing/fake_clock.h"
#include "testing/matchers.h"
#include "testing/temp_dir.h"
#include "token/issuer.h"
#include "token/key_ring.h"
#include "token/revocation.h"
#include "token/verifier.h"

namespace writ::token {

inline constexpr std::string_view kIssuer = "spiffe://example.org";
inline constexpr std::string_view kAudience = "writ";

class TokenStackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log::SetLevel(log::Level::kWarn);
    Open();
  }

  void Open(KeyRingOptions key_options = {}) {
    key_options.clock = &clock_;
    issuer_.reset();
    verifier_.reset();
    revocations_.reset();
    keys_.reset();
    registry_.reset();
    store_.reset();
    store_ = store::SqliteStore::Open(dir_.file("writ.db")).value();
    registry_ = identity::Registry::Create(store_->identities(), {.trust_domain = "example.org", .clock = &clock_}).value();
    if (!registry_->Get(identity::Kind::kAgent, "bot")) {
      ASSERT_THAT(Create(R"({"kind":"human","name":"alice"})"), IsOk());
      ASSERT_THAT(Create(R"({"kind":"agent","name":"bot","owner":"alice","max_ttl":"10m"})"), IsOk());
    }
    master_key_ = LoadOrCreateMasterKey(dir_.file("master.key")).value();
    keys_ = KeyRing::Open(store_->tokens(), master_key_, key_options).value();
    revocations_ = Revocations::Open(store_->tokens(), &clock_).value();
    RevokeOnDeactivation(*registry_, *revocations_);
    issuer_ = std::make_unique<Issuer>(*keys_, *registry_, IssuerOptions{.issuer = std::string(kIssuer), .clock = &clock_});
    verifier_ = std::make_unique<Verifier>(*keys_, *revocations_, *registry_,
                                           VerifierOptions{.issuer = std::string(kIssuer),
                                                           .trust_domain = "example.org",
                                                           .clock = &clock_});
  }

  Result<identity::Identity> Create(std::string_view body) {
    WRIT_ASSIGN_OR_RETURN(identity::Identity spec, identity::ParseCreateRequest(json::Parse(body).value()));
    return registry_->CreateIdentity(std::move(spec), {"root", "test"});
  }

  IssuedToken IssueBot(IssueRequest request = {}) {
    request.agent = "bot";
    auto issued = issuer_->Issue(request);
    EXPECT_THAT(issued, IsOk());
    return issued.value();
  }

  // The kind a verification failed with, or nullopt when it succeeded.
  std::optional<TokenErrorKind> Rejection(std::string_view token, std::string_view audience = kAudience) {
    auto verified = verifier_->Verify(token, audience);
    if (verified) return std::nullopt;
    return verified.error().kind;
  }

  TempDir dir_;
  FakeClock clock_;
  std::string master_key_;
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<identity::Registry> registry_;
  std::unique_ptr<KeyRing> keys_;
  std::unique_ptr<Revocations> revocations_;
  std::unique_ptr<Issuer> issuer_;
  std::unique_ptr<Verifier> verifier_;
};

}  // namespace writ::token
