#include "polc.h"
#include <CUnit/Basic.h>
static void test_placeholder(void) { CU_ASSERT_EQUAL(1, 1); }
int main(void)
{
	CU_initialize_registry();
	CU_pSuite s = CU_add_suite("frontend", NULL, NULL);
	CU_add_test(s, "placeholder", test_placeholder);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	unsigned f = CU_get_number_of_failures();
	CU_cleanup_registry();
	return f ? 1 : 0;
}
