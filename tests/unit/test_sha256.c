/* Unit tests of SHA-256 (compiler/sha256.c): the digests that sign every image. */
#include "unit.h"

static void hex_of(const void *data, size_t n, char out[65])
{
	struct sha256 s;
	uint8_t d[32];
	sha256_init(&s);
	sha256_update(&s, data, n);
	sha256_final(&s, d);
	sha256_hex(d, out);
}

/* The examples of FIPS 180-4 (NIST's "SHA256.pdf"), and the empty message. */
static void test_known_answers(void)
{
	static const struct {
		const char *msg, *digest;
	} v[] = {
	    {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
	    {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	    {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
	    {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
	     "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
	     "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
	};
	char got[65];
	for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
		hex_of(v[i].msg, strlen(v[i].msg), got);
		CU_ASSERT_STRING_EQUAL(got, v[i].digest);
	}
}

/* One million 'a', fed in pieces that straddle block boundaries. */
static void test_million_a(void)
{
	char chunk[1000];
	memset(chunk, 'a', sizeof chunk);
	struct sha256 s;
	uint8_t d[32];
	char got[65];
	sha256_init(&s);
	for (int i = 0; i < 1000; i++)
		sha256_update(&s, chunk, sizeof chunk);
	sha256_final(&s, d);
	sha256_hex(d, got);
	CU_ASSERT_STRING_EQUAL(got,
			       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* However the input is split (within a block, across blocks, whole blocks after a partial
 * one), the digest is the one of the whole. */
static void test_any_split(void)
{
	uint8_t data[1031];
	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (uint8_t)(i * 131 + 7);
	char whole[65], split[65];
	hex_of(data, sizeof data, whole);
	static const size_t steps[] = {1, 3, 63, 64, 65, 127, 200, 1030};
	for (size_t k = 0; k < sizeof steps / sizeof *steps; k++) {
		struct sha256 s;
		uint8_t d[32];
		sha256_init(&s);
		for (size_t at = 0; at < sizeof data; at += steps[k]) {
			size_t n = sizeof data - at < steps[k] ? sizeof data - at : steps[k];
			sha256_update(&s, data + at, n);
		}
		sha256_final(&s, d);
		sha256_hex(d, split);
		CU_ASSERT_STRING_EQUAL(split, whole);
	}
}

int main(void)
{
	static const struct test_case cases[] = {
	    {"FIPS 180-4 examples and the empty message", test_known_answers},
	    {"one million 'a'", test_million_a},
	    {"any split of the input gives the same digest", test_any_split},
	    {NULL, NULL}};
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	if (!add_suite("sha256", cases, NULL, NULL)) {
		CU_cleanup_registry();
		return 1;
	}
	return run_tests();
}
