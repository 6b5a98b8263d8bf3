#ifndef CONTROLPLANE_CCURL_SHIM_H
#define CONTROLPLANE_CCURL_SHIM_H
// libcurl: SMTP and HTTP transfers. curl_easy_setopt is variadic, which Swift cannot call: one typed
// wrapper per argument kind.
#include <curl/curl.h>

static inline CURLcode cpcurl_setopt_long(CURL *curl, CURLoption option, long value) {
    return curl_easy_setopt(curl, option, value);
}
static inline CURLcode cpcurl_setopt_string(CURL *curl, CURLoption option, const char *value) {
    return curl_easy_setopt(curl, option, value);
}
static inline CURLcode cpcurl_setopt_pointer(CURL *curl, CURLoption option, void *value) {
    return curl_easy_setopt(curl, option, value);
}
typedef size_t (*cpcurl_write_callback)(char *data, size_t size, size_t count, void *context);
static inline CURLcode cpcurl_setopt_write_function(CURL *curl, cpcurl_write_callback callback) {
    return curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, callback);
}
static inline CURLcode cpcurl_setopt_header_function(CURL *curl, cpcurl_write_callback callback) {
    return curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, callback);
}
static inline CURLcode cpcurl_setopt_off_t(CURL *curl, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(curl, option, value);
}
typedef size_t (*cpcurl_read_callback)(char *buffer, size_t size, size_t count, void *context);
static inline CURLcode cpcurl_setopt_read_function(CURL *curl, cpcurl_read_callback callback) {
    return curl_easy_setopt(curl, CURLOPT_READFUNCTION, callback);
}
static inline long cpcurl_response_code(CURL *curl) {
    long code = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    return code;
}
static inline long cpcurl_use_ssl_none(void) { return CURLUSESSL_NONE; }
static inline long cpcurl_use_ssl_try(void) { return CURLUSESSL_TRY; }
static inline long cpcurl_use_ssl_all(void) { return CURLUSESSL_ALL; }
#endif
