#!/bin/sh
# Installs the system libraries the Qt wheels load at run time, when any is missing.
# Offscreen (tests): EGL, GL, xkbcommon, fontconfig, dbus.
# A real X11 window also needs the xcb set; without it Qt aborts with
# "could not load the Qt platform plugin xcb".
# Optional, for checking the desktop files (tests/core/test_packaging.py skips without them):
#     sudo apt-get install -y desktop-file-utils appstream
# They are not installed here: running and testing the app do not need them.
set -u
PACKAGES="libegl1 libgl1 libxkbcommon0 fontconfig libfontconfig1 libdbus-1-3 \
libx11-xcb1 libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 \
libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xfixes0"

command -v dpkg-query >/dev/null 2>&1 || exit 0   # not Debian/Ubuntu: nothing to check

missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# Qt Core also needs GLib, whose package was renamed (libglib2.0-0t64 on newer releases):
# check for the library itself and name whichever package this release has.
glib=""
if ! ldconfig -p 2>/dev/null | grep -q 'libglib-2.0.so.0'; then
    glib=libglib2.0-0
    if [ "$(id -u)" = "0" ]; then
        apt-get update -qq
        apt-cache show libglib2.0-0t64 >/dev/null 2>&1 && glib=libglib2.0-0t64
    fi
    missing="$missing $glib"
fi
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = "0" ]; then
    echo "Installing system libraries for Qt:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq $missing >/dev/null
else
    echo "Qt needs system libraries that are missing. Run:"
    echo "    sudo apt-get install -y$missing"
    exit 1
fi
