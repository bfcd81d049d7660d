// The simulated LAN's DNS server (scripts/sim-hosts.sh starts it on the bridge address).
//
// Why: a container on a host's overlay network asks Docker's embedded DNS, which forwards any
// name it does not know (a container that died with its host, say) to the host's resolver. A
// real LAN's resolver answers NXDOMAIN in milliseconds. With nothing listening there, Docker
// 20.10's resolver does not treat the ICMP refusal as an answer: every such lookup hung 20 s
// (getent, measured), and Patroni's check of a dead member's REST API waited that long before
// a failover. This server answers every query at once with NXDOMAIN: nothing outside the
// simulated hosts is ever resolved or contacted.
//
//   node scripts/sim-lan-dns.mjs ADDRESS
import dgram from 'node:dgram';

const address = process.argv[2];
if (!address) {
  console.error('usage: sim-lan-dns.mjs ADDRESS');
  process.exit(2);
}
const socket = dgram.createSocket('udp4');
socket.on('message', (query, from) => {
  if (query.length < 12) return;
  const answer = Buffer.from(query);
  // QR=1 (a response), opcode and RD copied from the query; RA=1, RCODE=3 (NXDOMAIN).
  answer[2] = 0x80 | (query[2] & 0x79);
  answer[3] = 0x83;
  socket.send(answer, from.port, from.address);
});
socket.on('error', (err) => {
  console.error(`sim-lan-dns: ${err.message}`);
  process.exit(1);
});
socket.bind(53, address);
