"""The SNAP (Standar Nasional Open API Pembayaran) Virtual Account protocol, pure: no AWS,
no database. Partner banks, the post office and minimarkets call SMILE through it.

- signatures: the token request's SHA256withRSA and the transactions' HMAC-SHA512;
- headers:    header lookup and shape, X-TIMESTAMP and its replay window;
- messages:   inquiry / payment / status request models and response builders;
- codes:      service codes, response codes and `SnapError`.

The use cases (token issue, bill lookup, payment posting) live outside this package and
call into it; routes map `SnapError` to the SNAP body with `to_body(service)`.
"""
