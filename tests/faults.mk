# The allocation-failure library of the fault tests (tests/integration/
# failmalloc.c), built beside the test programs and needed by make check.
FAILMALLOC := $(BUILD)/tests/failmalloc.so
check-only integration: $(FAILMALLOC)
$(FAILMALLOC): tests/integration/failmalloc.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O1 -g -fno-omit-frame-pointer -fPIC -shared -Wall -Wextra -Werror -o $@ $< -ldl
