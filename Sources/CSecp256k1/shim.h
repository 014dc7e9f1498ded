// Debian's libsecp256k1-dev headers used by LibP2P (identities, ECDH) and CodexMarket (recoverable signatures).
#include <secp256k1.h>
#include <secp256k1_ecdh.h>
#include <secp256k1_recovery.h>
#include <secp256k1_extrakeys.h>
