/* Placeholder until the launcher lands. */
#include <stdio.h>
int main(void) { fputs("sbx-launch: not built yet\n", stderr); return 126; }
