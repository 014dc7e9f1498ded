// OpenSSL's libcrypto (Debian libssl-dev): LibP2P uses its EVP ChaCha20-Poly1305 for Noise transport frames,
// which is several times faster than swift-crypto's portable build of the same AEAD on this platform.
#include <openssl/evp.h>
