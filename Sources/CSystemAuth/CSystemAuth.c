#include "CSystemAuth.h"
#include <crypt.h>
#include <security/pam_appl.h>
#include <stdlib.h>
#include <string.h>

// PAM asks for the password through a conversation; answer every hidden prompt with it.
static int answer_with_password(int count, const struct pam_message **messages,
                                struct pam_response **responses, void *appdata) {
    const char *password = appdata;
    struct pam_response *replies = calloc((size_t)count, sizeof(struct pam_response));
    if (replies == NULL) return PAM_BUF_ERR;
    for (int i = 0; i < count; i++) {
        int style = messages[i]->msg_style;
        if (style == PAM_PROMPT_ECHO_OFF || style == PAM_PROMPT_ECHO_ON) {
            replies[i].resp = strdup(password);
            if (replies[i].resp == NULL) {
                for (int j = 0; j < i; j++) free(replies[j].resp);
                free(replies);
                return PAM_BUF_ERR;
            }
        }
    }
    *responses = replies;
    return PAM_SUCCESS;
}

int vireo_pam_authenticate(const char *service, const char *user, const char *password) {
    struct pam_conv conversation = {answer_with_password, (void *)password};
    pam_handle_t *handle = NULL;
    int rc = pam_start(service, user, &conversation, &handle);
    if (rc != PAM_SUCCESS) return rc;
    rc = pam_authenticate(handle, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
    if (rc == PAM_SUCCESS) rc = pam_acct_mgmt(handle, PAM_SILENT);
    pam_end(handle, rc);
    return rc;
}

int vireo_crypt(const char *password, const char *setting, char *out, unsigned long outlen) {
    struct crypt_data *data = calloc(1, sizeof(struct crypt_data));
    if (data == NULL) return -1;
    char *result = crypt_r(password, setting, data);
    int rc = -1;
    if (result != NULL && result[0] != '*' && strlen(result) < outlen) {
        strcpy(out, result);
        rc = 0;
    }
    explicit_bzero(data, sizeof(struct crypt_data));
    free(data);
    return rc;
}

int vireo_crypt_gensalt(const char *prefix, unsigned long cost, char *out, unsigned long outlen) {
    // A NULL random source makes libxcrypt read the kernel's random bytes itself.
    return crypt_gensalt_rn(prefix, cost, NULL, 0, out, (int)outlen) == NULL ? -1 : 0;
}
