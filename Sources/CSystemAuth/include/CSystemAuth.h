#ifndef VIREO_CSYSTEMAUTH_H
#define VIREO_CSYSTEMAUTH_H

/// Checks a password against PAM `service` for `user` (auth + account management).
/// Returns 0 on success, otherwise the PAM error code.
int vireo_pam_authenticate(const char *service, const char *user, const char *password);

/// Hashes `password` with `setting` (a full salt/setting string, e.g. from vireo_crypt_gensalt).
/// Writes the NUL-terminated hash to `out` (capacity `outlen`); returns 0 on success.
int vireo_crypt(const char *password, const char *setting, char *out, unsigned long outlen);

/// Produces a setting string for `prefix` ("$y$" yescrypt, "$5$" SHA-256 crypt) with `cost` (0 = default).
int vireo_crypt_gensalt(const char *prefix, unsigned long cost, char *out, unsigned long outlen);

#endif
