/* SPDX-License-Identifier: MIT */
/* A program that does nothing: Valgrind must run it cleanly before the
 * Valgrind checks of this build can mean anything (valgrind_reports.sh). */
int main(void) {
    return 0;
}
