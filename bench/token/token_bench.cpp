// Token issue and verify against raw OpenSSL ES256 sign/verify on the same key type, and the
// cached verify (the hot path of every enforcement point).
//   cmake --preset bench && cmake --build --preset bench --target token_bench
//   build/bench/bench/token/token_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <filesystem>
#include <memory>
#include <string>

#include <benchmark/benchmark.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <stdlib.h>

#include "crypto/hash.h"
#include "identity/codec.h"
#include "identity/registry.h"
#include "store/sqlite_store.h"
#include "token/issuer.h"
#include "token/key_ring.h"
#include "token/revocation.h"
#include "token/verifier.h"

namespace {

using namespace writ;

// One token stack in a temp dir, built once for all benchmarks.
struct Stack {
  std::string dir;
  std::unique_ptr<store::SqliteStore> store;
  std::unique_ptr<identity::Registry> registry;
  std::unique_ptr<token::KeyRing> keys;
  std::unique_ptr<token::Revocations> revocations;
  std::unique_ptr<token::Issuer> issuer;
  std::unique_ptr<token::Verifier> verifier;
  identity::Identity agent;

  Stack() {
    std::string pattern = (std::filesystem::temp_directory_path() / "writ-bench-XXXXXX").string();
    dir = ::mkdtemp(pattern.data());
    store = store::SqliteStore::Open(dir + "/writ.db").value();
    registry = identity::Registry::Create(store->identities(), {.trust_domain = "bench.local"}).value();
    (void)registry->CreateIdentity(identity::ParseCreateRequest(json::Parse(R"({"kind":"human","name":"alice"})").value()).value(),
                                   {"bench", ""});
    agent = registry->CreateIdentity(identity::ParseCreateRequest(
                                         json::Parse(R"({"kind":"agent","name":"bot","owner":"alice"})").value()).value(),
                                     {"bench", ""}).value();
    keys = token::KeyRing::Open(store->tokens(), token::LoadOrCreateMasterKey(dir + "/master.key").value()).value();
    revocations = token::Revocations::Open(store->tokens()).value();
    issuer = std::make_unique<token::Issuer>(*keys, *registry, token::IssuerOptions{.issuer = "spiffe://bench.local"});
    verifier = std::make_unique<token::Verifier>(*keys, *revocations, *registry,
                                                 token::VerifierOptions{.issuer = "spiffe://bench.local",
                                                                        .trust_domain = "bench.local"});
  }
  ~Stack() { std::filesystem::remove_all(dir); }
};

Stack& GetStack() {
  static Stack stack;
  return stack;
}

void BM_IssueEs256(benchmark::State& state) {
  Stack& stack = GetStack();
  for (auto _ : state) {
    auto issued = stack.issuer->IssueFor(stack.agent, {.agent = "bot"});
    benchmark::DoNotOptimize(issued);
  }
}
BENCHMARK(BM_IssueEs256);

// Every iteration verifies a token never seen before (cache miss): signature, claims, revocation,
// registry lookup of the agent's state.
void BM_VerifyColdEs256(benchmark::State& state) {
  Stack& stack = GetStack();
  std::vector<std::string> tokens;
  for (int i = 0; i < 2000; ++i) tokens.push_back(stack.issuer->IssueFor(stack.agent, {.agent = "bot"}).value().token);
  size_t next = 0;
  for (auto _ : state) {
    if (next == tokens.size()) {
      state.PauseTiming();
      // Fresh verifier: an empty cache.
      stack.verifier = std::make_unique<token::Verifier>(*stack.keys, *stack.revocations, *stack.registry,
                                                         token::VerifierOptions{.issuer = "spiffe://bench.local",
                                                                                .trust_domain = "bench.local"});
      next = 0;
      state.ResumeTiming();
    }
    auto verified = stack.verifier->Verify(tokens[next++], "writ");
    if (!verified) state.SkipWithError("verify failed");
    benchmark::DoNotOptimize(verified);
  }
}
BENCHMARK(BM_VerifyColdEs256);

void BM_VerifyCached(benchmark::State& state) {
  Stack& stack = GetStack();
  const std::string token = stack.issuer->IssueFor(stack.agent, {.agent = "bot"}).value().token;
  if (!stack.verifier->Verify(token, "writ")) state.SkipWithError("verify failed");
  for (auto _ : state) {
    auto verified = stack.verifier->Verify(token, "writ");
    benchmark::DoNotOptimize(verified);
  }
}
BENCHMARK(BM_VerifyCached);

// The cost of hashing a whole token (what a SHA-256-keyed cache pays on every lookup).
void BM_Sha256OfToken(benchmark::State& state) {
  Stack& stack = GetStack();
  const std::string token = stack.issuer->IssueFor(stack.agent, {.agent = "bot"}).value().token;
  for (auto _ : state) benchmark::DoNotOptimize(crypto::Sha256(token));
}
BENCHMARK(BM_Sha256OfToken);

// Raw OpenSSL: ES256 over a token-sized message (SHA-256 + ECDSA P-256), no JOSE work.
struct RawKey {
  EVP_PKEY* key = nullptr;
  RawKey() {
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, nullptr);
    EVP_PKEY_keygen_init(ctx);
    EVP_PKEY_CTX_set_ec_paramgen_curve_nid(ctx, NID_X9_62_prime256v1);
    EVP_PKEY_keygen(ctx, &key);
    EVP_PKEY_CTX_free(ctx);
  }
  ~RawKey() { EVP_PKEY_free(key); }
};

const std::string kMessage(260, 'm');  // about a writ token's signing input

std::string RawSign(EVP_PKEY* key) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  unsigned char signature[80];
  size_t length = sizeof(signature);
  EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key);
  EVP_DigestSign(ctx, signature, &length, reinterpret_cast<const unsigned char*>(kMessage.data()), kMessage.size());
  EVP_MD_CTX_free(ctx);
  return std::string(reinterpret_cast<char*>(signature), length);
}

void BM_RawOpenSslSignEs256(benchmark::State& state) {
  RawKey key;
  for (auto _ : state) benchmark::DoNotOptimize(RawSign(key.key));
}
BENCHMARK(BM_RawOpenSslSignEs256);

void BM_RawOpenSslVerifyEs256(benchmark::State& state) {
  RawKey key;
  const std::string signature = RawSign(key.key);
  for (auto _ : state) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key.key);
    const int ok = EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                                    reinterpret_cast<const unsigned char*>(kMessage.data()), kMessage.size());
    EVP_MD_CTX_free(ctx);
    if (ok != 1) state.SkipWithError("raw verify failed");
  }
}
BENCHMARK(BM_RawOpenSslVerifyEs256);

// The floor under both: ECDSA alone on a context prepared once, over a digest computed once (what
// crypto::PrivateKey/PublicKey now do per call, plus one SHA-256 of the signing input).
void BM_RawOpenSslSignEs256Prepared(benchmark::State& state) {
  RawKey key;
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(nullptr, key.key, nullptr);
  EVP_PKEY_sign_init(ctx);
  const auto digest = crypto::Sha256(kMessage);
  for (auto _ : state) {
    unsigned char signature[80];
    size_t length = sizeof(signature);
    if (EVP_PKEY_sign(ctx, signature, &length, digest.data(), digest.size()) != 1) state.SkipWithError("sign failed");
    benchmark::DoNotOptimize(signature);
  }
  EVP_PKEY_CTX_free(ctx);
}
BENCHMARK(BM_RawOpenSslSignEs256Prepared);

void BM_RawOpenSslVerifyEs256Prepared(benchmark::State& state) {
  RawKey key;
  const std::string signature = RawSign(key.key);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(nullptr, key.key, nullptr);
  EVP_PKEY_verify_init(ctx);
  const auto digest = crypto::Sha256(kMessage);
  for (auto _ : state) {
    const int ok = EVP_PKEY_verify(ctx, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                                   digest.data(), digest.size());
    if (ok != 1) state.SkipWithError("raw verify failed");
  }
  EVP_PKEY_CTX_free(ctx);
}
BENCHMARK(BM_RawOpenSslVerifyEs256Prepared);

}  // namespace

BENCHMARK_MAIN();
