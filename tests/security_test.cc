// TLS and token authentication against real lmc-server processes: certificates
// made here with openssl, the client library on both sides of every check.
#include <cstdlib>
#include <fstream>
#include <thread>

#include "client/lmc_client.h"
#include "engine/codec.h"
#include "gtest/gtest.h"
#include "tests/server_process.h"
#include "tests/test_support.h"

namespace lmc {
namespace {

constexpr char kToken[] = "s3cret-token-for-billing-0001";

// A throwaway PKI in the test's temp dir: a CA, a server certificate for
// localhost and 127.0.0.1, a client certificate, and an unrelated second CA.
struct Pki {
  std::string dir, ca, server_cert, server_key, client_cert, client_key, other_ca, tokens;
};

const Pki& Certificates() {
  static Pki* pki = [] {
    auto* p = new Pki;
    p->dir = ::testing::TempDir() + "/lmc-pki";
    const std::string d = p->dir;
    const std::string script =
        "set -e; rm -rf " + d + "; mkdir -p " + d + "; cd " + d + "\n" +
        "key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $1; }\n"
        "ca() { key $1.key; openssl req -x509 -new -key $1.key -subj /CN=$1 -days 2 -out $1.pem; }\n"
        "leaf() { key $1.key; openssl req -new -key $1.key -subj /CN=$2 -out $1.csr;\n"
        "  printf 'subjectAltName=%s\\nextendedKeyUsage=%s\\n' \"$3\" \"$4\" > $1.ext;\n"
        "  openssl x509 -req -in $1.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
        "-extfile $1.ext -out $1.pem; }\n"
        "ca ca; ca other\n"
        "leaf server localhost DNS:localhost,IP:127.0.0.1 serverAuth\n"
        "leaf client billing DNS:billing clientAuth\n";
    std::ofstream(d + ".sh") << script;
    if (std::system(("bash " + d + ".sh > " + d + ".log 2>&1").c_str()) != 0) {
      ADD_FAILURE() << "openssl failed; see " << d << ".log";
    }
    p->ca = d + "/ca.pem";
    p->other_ca = d + "/other.pem";
    p->server_cert = d + "/server.pem";
    p->server_key = d + "/server.key";
    p->client_cert = d + "/client.pem";
    p->client_key = d + "/client.key";
    p->tokens = d + "/tokens";
    std::ofstream(p->tokens) << "# name token\nbilling " << kToken << "\n";
    return p;
  }();
  return *pki;
}

std::vector<std::string> ServerFlags(std::vector<std::string> extra) {
  const Pki& pki = Certificates();
  std::vector<std::string> f = {"--model", "tiny=" + Model().path, "--workers", "1",
                                "--tls_cert", pki.server_cert, "--tls_key", pki.server_key};
  f.insert(f.end(), extra.begin(), extra.end());
  return f;
}

// Options for a TLS client that trusts `ca`, with `token` and a short deadline
// for the calls that are meant to fail.
ClientOptions Tls(const std::string& ca, const std::string& token = kToken, bool client_cert = false) {
  ClientOptions o = Patient();
  const Pki& pki = Certificates();
  EXPECT_TRUE(LoadTlsFiles(ca, client_cert ? pki.client_cert : "",
                           client_cert ? pki.client_key : "", &o).ok());
  o.token = token;
  return o;
}

ClientOptions Failing(ClientOptions o) {
  o.timeout = std::chrono::seconds(20);
  o.max_attempts = 2;
  return o;
}

// A compress and decompress through `client`, exact and equal to local mode.
void ExpectRoundTrip(Client& client, uint32_t seed) {
  const std::string data = Text(3000, seed);
  absl::StatusOr<std::string> frame = client.Compress(data);
  ASSERT_TRUE(frame.ok()) << frame.status();
  EXPECT_EQ(*frame, Compress(*Model().model, data, {.threads = 1}).value());
  absl::StatusOr<std::string> back = client.Decompress(*frame);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, data);
}

// The server names itself localhost in its certificate; the client dials that.
std::string Target(const ServerProcess& s) { return "localhost:" + std::to_string(s.port()); }

TEST(SecurityTest, TlsWithTokensServesClientsThatHaveBoth) {
  ServerProcess server(ServerBinary(), ServerFlags({"--auth_tokens", Certificates().tokens}));
  ASSERT_TRUE(server.ok()) << server.startup_log();
  EXPECT_NE(server.startup_log().find("with TLS"), std::string::npos);
  auto client = Client::Connect(Target(server), Tls(Certificates().ca));
  ExpectRoundTrip(*client, 1);
  auto models = client->ListModels();
  ASSERT_TRUE(models.ok()) << models.status();
  EXPECT_EQ(models->size(), 1u);
  // Streams carry the token too.
  std::istringstream in(Text(5000, 2));
  std::ostringstream frames;
  ASSERT_TRUE(client->CompressStream(in, frames).ok());
  std::istringstream fin(frames.str());
  std::ostringstream back;
  ASSERT_TRUE(client->DecompressStream(fin, back).ok());
  EXPECT_EQ(back.str(), Text(5000, 2));
}

TEST(SecurityTest, MissingOrWrongTokensAreUnauthenticated) {
  ServerProcess server(ServerBinary(), ServerFlags({"--auth_tokens", Certificates().tokens}));
  ASSERT_TRUE(server.ok()) << server.startup_log();
  for (const std::string token : {"", "not-the-token-at-all-000000", "s3cret-token-for-billing-000"}) {
    auto client = Client::Connect(Target(server), Failing(Tls(Certificates().ca, token)));
    EXPECT_EQ(client->Compress("data").status().code(), absl::StatusCode::kUnauthenticated)
        << "token '" << token << "'";
    EXPECT_EQ(client->Decompress("frame").status().code(), absl::StatusCode::kUnauthenticated);
    EXPECT_EQ(client->ListModels().status().code(), absl::StatusCode::kUnauthenticated);
    std::istringstream in("stream data");
    std::ostringstream out;
    EXPECT_EQ(client->CompressStream(in, out).code(), absl::StatusCode::kUnauthenticated);
    EXPECT_TRUE(out.str().empty());
  }
  // Probes need no token: health answers, over TLS.
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = Tls(Certificates().ca).tls_root_certs;
  EXPECT_EQ(Health(Target(server), grpc::SslCredentials(ssl)), 1);
  auto good = Client::Connect(Target(server), Tls(Certificates().ca));
  ExpectRoundTrip(*good, 3);
}

TEST(SecurityTest, PlaintextAndUntrustedClientsFailCleanly) {
  ServerProcess server(ServerBinary(), ServerFlags({}));
  ASSERT_TRUE(server.ok()) << server.startup_log();
  ClientOptions plain = Failing(Patient());
  auto plaintext = Client::Connect(Target(server), plain);
  EXPECT_EQ(plaintext->Compress("hello").status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(Health(server.address()), -1);
  auto untrusted = Client::Connect(Target(server), Failing(Tls(Certificates().other_ca)));
  EXPECT_EQ(untrusted->Compress("hello").status().code(), absl::StatusCode::kUnavailable);
  // The server is unharmed: a proper client still gets exact answers.
  auto good = Client::Connect(Target(server), Tls(Certificates().ca, ""));
  ExpectRoundTrip(*good, 4);
}

TEST(SecurityTest, PlaintextHealthPortServesProbesAndNothingElse) {
  ServerProcess server(ServerBinary(),
                       ServerFlags({"--health_listen", "127.0.0.1:0", "--auth_tokens",
                                    Certificates().tokens, "--metrics_listen", "127.0.0.1:0"}));
  ASSERT_TRUE(server.ok()) << server.startup_log();
  const int health_port = PortAfter(server.startup_log(), "health on port ");
  ASSERT_GT(health_port, 0) << server.startup_log();
  const std::string health = "127.0.0.1:" + std::to_string(health_port);
  EXPECT_EQ(Health(health), 1);
  EXPECT_EQ(Health(health, grpc::InsecureChannelCredentials(), "liveness"), 1);
  ClientOptions o = Failing(Patient());
  o.token = kToken;
  auto plaintext = Client::Connect(health, o);
  EXPECT_EQ(plaintext->Compress("hello").status().code(), absl::StatusCode::kUnimplemented);
  // Draining (a call in flight keeps the server up): the health port says
  // NOT_SERVING like the main port, and liveness stays SERVING.
  const std::string big = Text(1 << 20, 9);
  std::thread call([&] {
    auto client = Client::Connect(Target(server), Tls(Certificates().ca));
    absl::StatusOr<std::string> frame = client->Compress(big);
    EXPECT_TRUE(frame.ok()) << frame.status();
  });
  const int metrics_port = PortAfter(server.startup_log(), "metrics on port ");
  for (int i = 0; i < 3000; ++i) {
    if (Sample(HttpGet(metrics_port, "/metrics"), "lmc_in_flight_requests") >= 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  server.Signal(SIGTERM);
  for (int i = 0; i < 250 && Health(health) == 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(Health(health), 2);
  EXPECT_EQ(Health(health, grpc::InsecureChannelCredentials(), "liveness"), 1);
  call.join();
  EXPECT_EQ(server.Wait(), 0);
}

TEST(SecurityTest, MutualTlsNeedsAClientCertificateFromTheCa) {
  ServerProcess server(ServerBinary(), ServerFlags({"--tls_client_ca", Certificates().ca}));
  ASSERT_TRUE(server.ok()) << server.startup_log();
  auto anonymous = Client::Connect(Target(server), Failing(Tls(Certificates().ca, "")));
  EXPECT_EQ(anonymous->Compress("hello").status().code(), absl::StatusCode::kUnavailable);
  auto client = Client::Connect(Target(server), Tls(Certificates().ca, "", /*client_cert=*/true));
  ExpectRoundTrip(*client, 5);
}

TEST(SecurityTest, BadTlsOrTokenFilesStopTheServerWithAMessage) {
  ServerProcess no_key(ServerBinary(), {"--model", "tiny=" + Model().path, "--tls_cert",
                                        Certificates().server_cert, "--tls_key", "/nonexistent"});
  EXPECT_FALSE(no_key.ok());
  EXPECT_NE(no_key.Wait(), 0);
  const std::string bad = Certificates().dir + "/bad-tokens";
  std::ofstream(bad) << "billing short\n";
  ServerProcess bad_tokens(ServerBinary(), {"--model", "tiny=" + Model().path, "--auth_tokens", bad});
  EXPECT_FALSE(bad_tokens.ok());
  EXPECT_NE(bad_tokens.startup_log().find("shorter than 16"), std::string::npos)
      << bad_tokens.startup_log();
}

}  // namespace
}  // namespace lmc
