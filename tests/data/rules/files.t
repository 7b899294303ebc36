# files rules: groups of three lines (pattern, input path, verdict), blank
# lines and '#' comments between groups. A files rule matches the whole
# basename. verdict: forbidden | allowed.
nc
/bin/nc
forbidden

nc
/bin/sync
allowed

nc
/usr/bin/ncat
allowed

curl
/usr/bin/curl
forbidden

curl
/usr/lib/x86_64-linux-gnu/libcurl.so.4
allowed

hping3?
/usr/sbin/hping3
forbidden

hping3?
/usr/sbin/hping
forbidden

nc|netcat
/bin/netcat
forbidden

nc|netcat
/bin/netcat-openbsd
allowed

wget
/wget/file
allowed

java.*
/opt/jdk/bin/javac
forbidden

telnet
/usr/bin/telnet.netkit
allowed

# an entry cannot escape the whole-name anchoring with its own parentheses
# (wrapped as "^(nc)|(x))$" it matched every name starting with "nc")
nc)|(x)
/usr/lib/libncurses.so.6
allowed

nc)|(x)
/usr/bin/ncurses
allowed

nc)|(x)
/usr/bin/x
forbidden

nc)|(x)
/usr/bin/nc)
forbidden

a|ab
/bin/ab
forbidden

(a|b)c
/bin/bcx
allowed
