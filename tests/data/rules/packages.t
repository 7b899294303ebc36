# packages rules are searched anywhere in the name (unanchored unless the
# rule says ^ or $). The production policy's authorized "^gcc.*-base" is
# applied to every case in this file.
^gcc
gcc-12
forbidden

^gcc
gcc-12-base
allowed

^gcc
libgcc-s1
allowed

libpcap
libpcap0.8
forbidden

^g\+\+
g++-12
forbidden

^g\+\+
gpp
allowed

tcpdump
tcpdump
forbidden

build-essential
build-essential
forbidden

^samba
samba-common-bin
forbidden

^samba
libsamba
allowed
