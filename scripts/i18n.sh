# shellcheck shell=bash
# scripts/i18n.sh - the tools speak the class's language. Sourced by the replay, the demo, peek
# and `make exercise`; the stages themselves always print the notes' Spanish.
#
#   L "English" "Español"               print the message in the reader's language (no newline)
#   Lf "fmt %s" "formato %s" ARGS...    the same through printf
#   lang_es                             true when the reader asked for Spanish
#
# Spanish when the first of LANGUAGE (its first entry), LC_ALL, LC_MESSAGES and LANG that is set
# starts with "es" (es, es_ES.UTF-8, es_AR...); English otherwise. Both texts sit together where
# the message is printed, so neither language can be forgotten, and tests/i18n.bats runs the
# tools in both.
#
# Why not gettext: gettext answers in Spanish only when the Spanish locale is installed
# (`locale -a`), and a fresh Debian machine has C, C.utf8 and POSIX alone, so
# LANG=es_ES.UTF-8 would still print English there; and it would need .mo files built first.

I18N_ES=0
for _i18n_var in "${LANGUAGE:-}" "${LC_ALL:-}" "${LC_MESSAGES:-}" "${LANG:-}"; do
    [ -n "$_i18n_var" ] || continue
    case ${_i18n_var%%:*} in es | es[_.@]*) I18N_ES=1 ;; esac
    break
done
unset _i18n_var

lang_es() { [ "$I18N_ES" = 1 ]; }
L() { if [ "$I18N_ES" = 1 ]; then printf '%s' "$2"; else printf '%s' "$1"; fi; }
# shellcheck disable=SC2059 # the format is the caller's message
Lf() {
    local en=$1 es=$2
    shift 2
    if [ "$I18N_ES" = 1 ]; then printf "$es" "$@"; else printf "$en" "$@"; fi
}
