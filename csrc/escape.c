/*
 * escape_json_string: runc's JSON string escaper, with runc's ownership
 * contract, because runc's test/escape_test.go links against exactly this
 * symbol. The Rust log writer (src/log.rs) calls it too, so the one
 * implementation is what both tests and log lines use.
 *
 * Contract (nsexec-protocol.md §5.3): takes a malloc'ed NUL-terminated
 * string and owns it. Returns it unchanged when nothing needs escaping,
 * otherwise a new malloc'ed string (and frees the input). On allocation
 * failure it frees the input and returns strdup() of a fixed message.
 * Escapes: " and \, the five short forms \b \f \n \r \t, any other byte
 * 0x01-0x1f and 0x7f as \u00xx (lower-case hex); bytes >= 0x80 pass raw.
 */
#include <stdlib.h>
#include <string.h>

static const char *short_form(unsigned char c)
{
	switch (c) {
	case '"':  return "\\\"";
	case '\\': return "\\\\";
	case '\b': return "\\b";
	case '\f': return "\\f";
	case '\n': return "\\n";
	case '\r': return "\\r";
	case '\t': return "\\t";
	}
	return NULL;
}

static int is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

char *escape_json_string(char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t extra = 0, n = 0;
	char *out, *w;

	if (s == NULL)
		return NULL;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++, n++) {
		if (short_form(*p))
			extra += 1;       /* two bytes instead of one */
		else if (is_ctl(*p))
			extra += 5;       /* \u00xx: six bytes instead of one */
	}
	if (extra == 0)
		return s;

	out = malloc(n + extra + 1);
	if (out == NULL) {
		free(s);
		return strdup("escape_json_string: out of memory");
	}
	w = out;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		const char *sf = short_form(*p);
		if (sf) {
			*w++ = sf[0];
			*w++ = sf[1];
		} else if (is_ctl(*p)) {
			memcpy(w, "\\u00", 4);
			w[4] = hex[*p >> 4];
			w[5] = hex[*p & 0xf];
			w += 6;
		} else {
			*w++ = (char)*p;
		}
	}
	*w = '\0';
	free(s);
	return out;
}
