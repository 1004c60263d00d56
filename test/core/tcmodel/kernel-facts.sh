#!/bin/bash
# Kernel facts the TC model (core/tcmodel) relies on, checked in the VM lab:
#   /work/shared/lab/run-in-vm.sh bash test/core/tcmodel/kernel-facts.sh   (from /work/main)
# 1. act_ct drops ARP (so ARP must pass before any ct action).
# 2. IPv6 neighbour solicitations read +trk+inv after ct (conntrack leaves them untracked).
# 3. 802.1Q-tagged IPv4 goes through act_ct and reads +trk+new.
# 4. A ct result crosses to the next hook: a tracked-new (even uncommitted) frame reads
#    +trk+new there, an invalid one reads -trk (the "post ct" mark does not survive).
. "$(cd "$(dirname "$0")" && pwd)/../../../../shared/lab/examples/lib.sh"
modprobe act_ct
topo_up
for i in 1 2 3; do ip -n pod$i link add link eth0 name eth0.100 type vlan id 100 2>/dev/null; ip -n pod$i link set eth0.100 up; ip -n pod$i addr add 10.20.0.$i/24 dev eth0.100 2>/dev/null; done

say "1+2. rep2 egress sends every frame to ct, chain 1 counts what survives"
run tc qdisc add dev rep2 clsact
run tc filter add dev rep2 egress pref 1 protocol all flower action ct pipe action goto chain 1
run tc filter add dev rep2 egress chain 1 pref 1 protocol arp flower action pass
run tc filter add dev rep2 egress chain 1 pref 2 protocol ipv6 flower ct_state +trk+inv ip_proto icmpv6 type 135 action pass
run tc filter add dev rep2 egress chain 1 pref 3 protocol ipv6 flower ip_proto icmpv6 type 135 action pass
run tc filter add dev rep2 egress chain 1 pref 9 protocol all flower action pass
ip -n pod1 neigh flush dev eth0
check "ARP through act_ct: IPv4 ping fails" sh -c '! ip netns exec pod1 ping -c1 -W1 10.10.0.2'
check "no ARP frame survived act_ct" test "$(pkts rep2 egress 1 1)" -eq 0
check "IPv6 ping works (ND is IP, ct passes it)" ip netns exec pod1 ping -6 -c1 -W1 fd00::2
check "the neighbour solicitation read +trk+inv" test "$(pkts rep2 egress 2 1)" -ge 1
check "no solicitation reached the flag-less ND filter" test "$(pkts rep2 egress 3 1)" -eq 0

say "3. 802.1Q-tagged IPv4 through act_ct (rep3 egress)"
run tc qdisc add dev rep3 clsact
run tc filter add dev rep3 egress pref 1 protocol 802.1Q flower vlan_ethtype ip action ct pipe action goto chain 1
run tc filter add dev rep3 egress chain 1 pref 1 protocol 802.1Q flower vlan_ethtype ip ct_state +trk+new action pass
run tc filter add dev rep3 egress chain 1 pref 9 protocol all flower action pass
check "tagged ping works" ip netns exec pod1 ping -c1 -W1 10.20.0.3
check "the tagged echo request read +trk+new" test "$(pkts rep3 egress 1 1)" -eq 1

say "4. ct state from rep1's ingress hook seen at rep4's egress hook"
run tc qdisc add dev rep1 clsact
run tc qdisc add dev rep4 clsact
run tc filter add dev rep1 ingress pref 1 protocol ip flower ip_proto icmp action ct pipe action pass
run tc filter add dev rep4 egress pref 1 protocol ip flower ct_state -trk ip_proto icmp action pass
run tc filter add dev rep4 egress pref 2 protocol ip flower ct_state +trk+new ip_proto icmp action pass
run tc filter add dev rep4 egress pref 3 protocol ip flower ct_state +trk ip_proto icmp action pass
ip netns exec pod1 ping -c1 -W1 10.10.0.4 >/dev/null 2>&1
check "an echo request tracked (not committed) at rep1 reads +trk+new at rep4" test "$(pkts rep4 egress 2)" -eq 1
# an unsolicited echo reply: no entry, conntrack will not create one -> +trk+inv at rep1
ip netns exec pod1 $PY - <<'PY'
import socket, struct
def csum(b):
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b)); s = (s >> 16) + (s & 0xffff); s += s >> 16
    return (~s) & 0xffff
body = struct.pack('!BBHHH', 0, 0, 0, 4242, 1) + b'x' * 8
pkt = struct.pack('!BBHHH', 0, 0, csum(body), 4242, 1) + b'x' * 8
socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP).sendto(pkt, ('10.10.0.4', 0))
PY
sleep 0.5
check "an echo reply that was invalid at rep1 reads -trk at rep4" test "$(pkts rep4 egress 1)" -eq 1
check "... and not +trk" test "$(pkts rep4 egress 3)" -eq 0
finish
