#!/bin/bash
# ozfs-vm.sh - OpenZFS 2.1 (the real kernel module, Debian bookworm's zfs-dkms) in a QEMU
# guest running Debian's 6.1 kernel, with the host's root file system visible at the same
# paths (read-only 9p export under a tmpfs overlay: writable in the guest, writes never reach
# the host) and one directory shared read-write. See "Real ZFS" in README.md.
#
#   ozfs-vm.sh --setup             once per machine, as root: apt (contrib), dkms, initramfs
#   ozfs-vm.sh --with CMD [ARGS]   boot one guest that serves zfs/zpool over ssh, run CMD on the
#                                  HOST with shims for zfs, zpool and ozfs-guest first on PATH,
#                                  power the guest off, exit with CMD's code
#   ozfs-vm.sh SCRIPT [ARGS]       boot a guest, run SCRIPT inside it (same cwd), stream its
#                                  output, exit with its code
#   ozfs-vm.sh --build-initrd      rebuild the initramfs only
#
# Exit code: the command's, or 125 when the guest itself failed (boot, timeout, ssh).
#
# --with: the host's node and jest run natively (node is ~15x slower under emulation); only the
# zfs commands cross into the guest. The guest gets QEMU user networking with one forwarded
# port to the host's own sshd binary, started inside the guest with keys made for this run.
# `zfs ARGS` on the host becomes `ssh ... 'zfs ARGS'` (each argument quoted for the remote
# shell) through one multiplexed connection: stdin, stdout, stderr and the exit code pass
# through. `ozfs-guest CMD [ARGS]` runs any command in the guest the same way (tests use it to
# create vdev files and to read and write files in mounted datasets: the guest's view of the
# host is read-only, and its mounts are invisible to the host).
#
# Acceleration: KVM if the host has hardware KVM (kvm_intel/kvm_amd loaded), else TCG (full
# emulation). These CI machines have a /dev/kvm backed by kvm_pvm, which cannot boot a stock
# kernel, so they use TCG: ~0.3 s per zfs command.
#
# Environment (all optional):
#   OZFS_HOME    state: zfs userland, initramfs, run directories        [/var/tmp/ozfs-vm]
#   OZFS_MEM     guest RAM; the tmpfs root overlay (vdev files) gets half [4G]
#   OZFS_CPUS    guest vCPUs                                             [2]
#   OZFS_TIMEOUT seconds after which the guest is killed, whatever runs  [1800]
#   OZFS_ACCEL   auto | kvm | tcg                                        [auto]
#   OZFS_PASSENV host variables copied into the guest (SCRIPT mode)      [CI]
#   OZFS_OUT     host directory shared read-write with the guest, mounted at the same path
#                inside. Default: a fresh directory under $OZFS_HOME/runs, removed after a
#                successful run unless OZFS_KEEP=1. Control files: $OZFS_OUT/.ozfs-vm/
#                (console.log, dmesg.log, output.log, rc, ...).
set -euo pipefail

OZFS_HOME=${OZFS_HOME:-/var/tmp/ozfs-vm}
OZFS_MEM=${OZFS_MEM:-4G}
OZFS_CPUS=${OZFS_CPUS:-2}
OZFS_TIMEOUT=${OZFS_TIMEOUT:-1800}

log() { printf '[ozfs-vm %s] %s\n' "$(date +%T)" "$*" >&2; }

# The kernel version that has a dkms-built zfs.ko and a bootable image (newest if several).
find_kver() {
  local d v=""
  for d in /lib/modules/*/updates/dkms/zfs.ko; do
    [ -e "$d" ] || continue
    d=${d#/lib/modules/}; d=${d%%/*}
    [ -e "/boot/vmlinuz-$d" ] && v=$d
  done
  [ -n "$v" ] || { log "no /lib/modules/*/updates/dkms/zfs.ko with a /boot/vmlinuz: run $0 --setup"; return 1; }
  echo "$v"
}

setup() {
  [ "$(id -u)" = 0 ] || { log "--setup must run as root"; exit 1; }
  local t0=$SECONDS
  export DEBIAN_FRONTEND=noninteractive
  # zfs-dkms and zfsutils-linux are in contrib.
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    sed -i 's/^Components: main$/Components: main contrib/' /etc/apt/sources.list.d/debian.sources
  fi
  apt-get update -qq || { sleep 5; apt-get update -qq; }
  local pkgs=(linux-image-amd64 linux-headers-amd64 zfs-dkms qemu-system-x86 busybox-static kmod cpio)
  command -v sshd >/dev/null 2>&1 || [ -x /usr/sbin/sshd ] || pkgs+=(openssh-server)
  command -v ssh >/dev/null 2>&1 || pkgs+=(openssh-client)
  # Packages install without starting services on the host (sshd is only run in the guest).
  local policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; policy=1
  fi
  # INITRD=No: no Debian initramfs for the new kernel (ours below is much smaller).
  # --no-install-recommends is REQUIRED: zfs-dkms recommends zfsutils-linux, which conflicts
  # with zfs-fuse and would remove it from the host.
  INITRD=No apt-get install -y -q --no-install-recommends "${pkgs[@]}" >"$OZFS_HOME/apt.log" 2>&1 \
    || { tail -50 "$OZFS_HOME/apt.log" >&2; log "apt-get failed, trying dpkg --configure -a"; }
  dpkg --configure -a
  [ "$policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
  log "apt done after $((SECONDS - t0))s (log: $OZFS_HOME/apt.log)"

  # The kernel that linux-image-amd64 brought (the newest /boot/vmlinuz-*-amd64).
  local kv
  kv=$(cd /boot && ls vmlinuz-*-amd64 2>/dev/null | sed 's/^vmlinuz-//' | sort -V | tail -1)
  [ -n "$kv" ] || { log "no /boot/vmlinuz-*-amd64 after apt"; exit 1; }
  if [ ! -e "/lib/modules/$kv/updates/dkms/zfs.ko" ]; then
    log "zfs.ko not built for $kv by the package hooks, running dkms"
    local zv
    zv=$(dpkg-query -W -f='${Version}' zfs-dkms | sed 's/-.*//')
    dkms install "zfs/$zv" -k "$kv"
  fi
  [ -e "/lib/modules/$kv/updates/dkms/zfs.ko" ] || { log "dkms build failed"; exit 1; }
  log "zfs.ko present for $kv after $((SECONDS - t0))s"

  # OpenZFS userland: extracted, not installed (zfsutils-linux conflicts with zfs-fuse), laid
  # out for merged /usr so it can be an overlay layer above the host's root.
  if [ ! -x "$OZFS_HOME/zfsroot/usr/sbin/zfs" ]; then
    local tmp; tmp=$(mktemp -d "$OZFS_HOME/debs.XXXX")
    chmod 755 "$tmp"; chown _apt "$tmp" 2>/dev/null || true
    (cd "$tmp" && apt-get download -q zfsutils-linux libzfs4linux libnvpair3linux \
        libuutil3linux libzpool5linux >/dev/null)
    rm -rf "$OZFS_HOME/zfsroot"; mkdir -p "$OZFS_HOME/zfsroot"
    local deb
    for deb in "$tmp"/*.deb; do dpkg-deb -x "$deb" "$OZFS_HOME/zfsroot"; done
    rm -rf "$tmp"
    (
      cd "$OZFS_HOME/zfsroot"
      # A top-level bin/ sbin/ lib/ in an overlay layer would hide the host's bin -> usr/bin.
      for x in bin sbin lib lib64; do
        if [ -d "$x" ] && [ ! -L "$x" ]; then mkdir -p "usr/$x"; cp -a "$x/." "usr/$x/"; rm -rf "$x"; fi
      done
      rm -rf usr/share/man usr/share/doc etc/init.d etc/cron.d usr/lib/systemd
    )
  fi
  [ -e "$OZFS_HOME/initrd-$kv.img" ] || build_initrd "$kv"
  log "setup finished in $((SECONDS - t0))s"
}

build_initrd() {
  local kv=$1 d m
  d=$(mktemp -d "$OZFS_HOME/initrd.XXXX")
  mkdir -p "$d/bin" "$d/mods" "$d/lower" "$d/newroot" "$d/scratch" "$d/rw" "$d/zfsl" \
           "$d/proc" "$d/sys" "$d/dev"
  cp /bin/busybox "$d/bin/busybox"   # busybox-static
  # Modules to mount the host root (9p over virtio-pci) and overlayfs, in load order. The
  # rest (zfs, virtio_net, ...) is modprobed from the host's /lib/modules once it is mounted.
  : >"$d/mods/order"
  for m in virtio_pci 9pnet_virtio 9p overlay; do
    modprobe -S "$kv" --show-depends "$m" | awk '$1=="insmod"{print $2}'
  done | awk '!seen[$0]++' | while read -r m; do
    cp "$m" "$d/mods/"; echo "${m##*/}" >>"$d/mods/order"
  done
  cp -a "$OZFS_HOME/zfsroot" "$d/zfsroot"
  cat >"$d/init" <<'EOF'
#!/bin/busybox sh
# Stage 1 (initramfs): mount the host root (9p, read-only) under a tmpfs overlay and
# switch_root into it. A chroot child would not do: ZFS opens file vdevs from kernel threads,
# which share PID 1's root, so PID 1 itself must live in the overlay.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
say() { echo "ozfs-init: $* at $(cut -d' ' -f1 /proc/uptime)s" >/dev/console; }
die() { say "FATAL: $*"; echo 125 >/scratch/.ozfs-vm/rc 2>/dev/null; sync; poweroff -f; }
say "up"
while read -r m; do insmod "/mods/$m" || die "insmod $m failed"; done </mods/order
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /lower || die "mount hostroot"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 scratch /scratch || die "mount scratch"
. /scratch/.ozfs-vm/job.env
# Separate mounts survive switch_root's removal of the initramfs files.
mount -t tmpfs -o mode=755 zfsl /zfsl && cp -a /zfsroot/. /zfsl/ || die "zfs layer"
mount -t tmpfs -o mode=755 rw /rw && mkdir -p /rw/upper /rw/work
mount -t overlay overlay -o lowerdir=/zfsl:/lower,upperdir=/rw/upper,workdir=/rw/work /newroot || die "mount overlay"
mount -t proc proc /newroot/proc
mount -t sysfs sysfs /newroot/sys
mount -t devtmpfs devtmpfs /newroot/dev
mkdir -p /newroot/dev/pts /newroot/dev/shm
mount -t devpts devpts /newroot/dev/pts
mount -t tmpfs tmpfs /newroot/dev/shm
mount -t tmpfs -o mode=755 tmpfs /newroot/run
mkdir -p "/newroot$OZFS_OUT" /newroot/run/ozfs
mount --bind /scratch "/newroot$OZFS_OUT"
cp /bin/busybox /stage2 /scratch/.ozfs-vm/job.env /newroot/run/ozfs/
say "root ready"
umount /proc /sys
exec switch_root /newroot /run/ozfs/busybox sh /run/ozfs/stage2
EOF
  cat >"$d/stage2" <<'EOF'
# Stage 2: PID 1 inside the host-root overlay: load zfs, run the job, power off.
B=/run/ozfs/busybox
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
. /run/ozfs/job.env
C=$OZFS_OUT/.ozfs-vm
say() { echo "ozfs-init: $* at $($B cut -d' ' -f1 /proc/uptime)s" >/dev/console; }
die() { say "FATAL: $*"; echo 125 >"$C/rc"; $B sync; $B poweroff -f; }
/sbin/modprobe zfs || die "modprobe zfs failed"
say "zfs loaded"
$B cut -d' ' -f1 /proc/uptime >"$C/boot-seconds"
/bin/bash "$C/job.sh" >"$C/output.log" 2>&1 </dev/null
echo $? >"$C/rc"
say "job done (rc=$($B cat "$C/rc"))"
$B dmesg >"$C/dmesg.log"
$B sync
$B poweroff -f
EOF
  chmod 755 "$d/init"
  (cd "$d" && find . -mindepth 1 | cpio -o -H newc --quiet | gzip -1) >"$OZFS_HOME/initrd-$kv.img.tmp"
  mv "$OZFS_HOME/initrd-$kv.img.tmp" "$OZFS_HOME/initrd-$kv.img"
  rm -rf "$d"
  log "initramfs $OZFS_HOME/initrd-$kv.img ($(du -h "$OZFS_HOME/initrd-$kv.img" | cut -f1))"
}

# Sets KV, OUT, AUTO_OUT, C and QEMU (the qemu argv without networking) for one guest.
prepare_guest() {
  [ "$(id -u)" = 0 ] || { log "the guest must run as root (it exports the host's root read-only)"; exit 125; }
  command -v qemu-system-x86_64 >/dev/null 2>&1 || { log "qemu-system-x86_64 not found: run $0 --setup"; exit 125; }
  KV=$(find_kver) || exit 125
  [ -e "$OZFS_HOME/initrd-$KV.img" ] || build_initrd "$KV"
  # Hardware KVM only when kvm_intel/kvm_amd is loaded: a /dev/kvm backed by kvm_pvm only
  # runs PVM-enlightened kernels (a stock Debian kernel never leaves its decompressor).
  local accel=${OZFS_ACCEL:-auto} cpu
  if [ "$accel" = auto ]; then
    if [ -w /dev/kvm ] && { [ -d /sys/module/kvm_intel ] || [ -d /sys/module/kvm_amd ]; }; then accel=kvm; else accel=tcg; fi
  fi
  if [ "$accel" = kvm ]; then cpu=host; else accel=tcg,thread=multi,tb-size=512; cpu=max; fi
  AUTO_OUT=0
  if [ -n "${OZFS_OUT:-}" ]; then
    mkdir -p "$OZFS_OUT"; OUT=$(readlink -f "$OZFS_OUT")
  else
    mkdir -p "$OZFS_HOME/runs"; OUT=$(mktemp -d "$OZFS_HOME/runs/run.XXXXXX"); AUTO_OUT=1
  fi
  C=$OUT/.ozfs-vm
  rm -rf "$C"; mkdir -p "$C"
  printf 'OZFS_OUT=%q\n' "$OUT" >"$C/job.env"
  : >"$C/output.log"
  QEMU=(qemu-system-x86_64
    -machine pc -accel "$accel" -cpu "$cpu" -smp "$OZFS_CPUS" -m "$OZFS_MEM"
    -nodefaults -no-user-config -display none -vga none
    -no-reboot -serial "file:$C/console.log"
    -kernel "/boot/vmlinuz-$KV" -initrd "$OZFS_HOME/initrd-$KV.img"
    -append "console=ttyS0 panic=-1 quiet loglevel=4 mitigations=off"
    -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap
    -virtfs "local,path=$OUT,mount_tag=scratch,security_model=none,multidevs=remap")
  log "booting $KV with accel=$accel, $OZFS_CPUS vCPU, $OZFS_MEM (shared dir $OUT)"
}

console_tail() { log "console log ($C/console.log):"; tail -40 "$C/console.log" >&2 || true; }

# Boots a guest, runs SCRIPT in it, exits with its code.
run_script() {
  [ $# -ge 1 ] || { echo "usage: $0 --setup | --with CMD [ARGS...] | SCRIPT [ARGS...]" >&2; exit 2; }
  local script=$1; shift
  [ -e "$script" ] || { log "no such script: $script"; exit 2; }
  script=$(readlink -f "$script")
  prepare_guest
  {
    echo '#!/bin/bash'
    echo 'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
    echo 'export HOME=/root LANG=C.UTF-8 TERM=dumb'
    printf 'export OZFS_OUT=%q\n' "$OUT"
    local v
    for v in ${OZFS_PASSENV-CI}; do
      if [ -n "${!v+x}" ]; then printf 'export %s=%q\n' "$v" "${!v}"; fi
    done
    printf 'cd %q || exit 125\n' "$PWD"
    if [ -x "$script" ]; then printf 'exec %q' "$script"; else printf 'exec /bin/bash %q' "$script"; fi
    printf ' %q' "$@"; echo
  } >"$C/job.sh"
  local t0=$SECONDS rc=0
  tail -n +1 -f "$C/output.log" &
  local tailpid=$!
  timeout -k 10 "$OZFS_TIMEOUT" "${QEMU[@]}" -net none </dev/null || rc=$?
  sleep 0.3; kill "$tailpid" 2>/dev/null; wait "$tailpid" 2>/dev/null || true
  if [ "$rc" != 0 ]; then log "qemu exited with $rc (124 = timeout after ${OZFS_TIMEOUT}s)"; console_tail; exit 125; fi
  if [ ! -s "$C/rc" ]; then log "the guest reported no exit code"; console_tail; exit 125; fi
  rc=$(cat "$C/rc")
  log "guest finished in $((SECONDS - t0))s (boot+modprobe: $(cat "$C/boot-seconds" 2>/dev/null)s guest uptime), exit code $rc"
  if [ "$AUTO_OUT" = 1 ] && [ "$rc" = 0 ] && [ "${OZFS_KEEP:-0}" != 1 ]; then rm -rf "$OUT"; else log "shared dir kept: $OUT"; fi
  exit "$rc"
}

# A free TCP port on 127.0.0.1 (bash has no bind(); node is there for the tests anyway).
free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# Boots a guest that serves ssh, runs CMD on the host with the shims first on PATH.
with_guest() {
  [ $# -ge 1 ] || { echo "usage: $0 --with CMD [ARGS...]" >&2; exit 2; }
  command -v ssh >/dev/null 2>&1 && command -v ssh-keygen >/dev/null 2>&1 && [ -x /usr/sbin/sshd ] \
    || { log "ssh, ssh-keygen and /usr/sbin/sshd are needed (openssh-client, openssh-server): run $0 --setup"; exit 125; }
  prepare_guest
  local port; port=$(free_port)
  local keys=$C/keys bin=$C/bin
  mkdir -p "$keys" "$bin"; chmod 700 "$keys"
  ssh-keygen -q -t ed25519 -N '' -C ozfs-vm-host -f "$keys/host_ed25519"
  ssh-keygen -q -t ed25519 -N '' -C ozfs-vm-client -f "$keys/client_ed25519"
  cp "$keys/client_ed25519.pub" "$keys/authorized_keys"
  printf '[127.0.0.1]:%s %s\n' "$port" "$(cut -d' ' -f1,2 "$keys/host_ed25519.pub")" >"$keys/known_hosts"
  cat >"$C/sshd_config" <<EOF
ListenAddress 0.0.0.0:22
HostKey $keys/host_ed25519
AuthorizedKeysFile $keys/authorized_keys
PidFile /run/ozfs/sshd.pid
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
UseDNS no
PrintMotd no
PrintLastLog no
MaxSessions 128
MaxStartups 128
LogLevel ERROR
EOF
  cat >"$C/ssh_config" <<EOF
Host ozfs
  HostName 127.0.0.1
  Port $port
  User root
  IdentityFile $keys/client_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile $keys/known_hosts
  StrictHostKeyChecking yes
  BatchMode yes
  RequestTTY no
  ControlMaster no
  ControlPath $C/mux
  ServerAliveInterval 15
  LogLevel ERROR
EOF
  # The guest job: network (QEMU user networking: 10.0.2.15, gateway 10.0.2.2), then the
  # host's sshd in the foreground; the guest powers off when it ends.
  cat >"$C/job.sh" <<EOF
#!/bin/bash
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
B=/run/ozfs/busybox
/sbin/modprobe virtio_net || exit 125
\$B ip link set lo up && \$B ip link set eth0 up && \$B ip addr add 10.0.2.15/24 dev eth0 \
  && \$B ip route add default via 10.0.2.2 || exit 125
mkdir -p /run/sshd && chmod 755 /run/sshd
# ssh sessions start bash, which reads ~/.bashrc: the host's may run slow tools (seconds each
# under emulation). In the guest, root's home is an empty directory (the overlay's copy of
# /etc/passwd is edited; the host's file is untouched).
mkdir -p /run/ozfs/home && \$B sed -i 's#^root:\([^:]*\):0:0:\([^:]*\):[^:]*:.*#root:\1:0:0:\2:/run/ozfs/home:/bin/bash#' /etc/passwd
echo "ozfs-vm: sshd starting at \$(cut -d' ' -f1 /proc/uptime)s"
exec /usr/sbin/sshd -D -e -f $(printf %q "$C/sshd_config")
EOF
  # zfs and zpool run in the guest; ozfs-guest runs any command there. ssh joins its
  # arguments with spaces for the remote shell, so each one is quoted first.
  local q; q=$(printf %q "$C/ssh_config")
  local p
  for p in zfs zpool; do
    printf '#!/bin/bash\n# %s in the OpenZFS guest (scripts/ozfs-vm.sh --with)\nexec ssh -F %s ozfs "$(printf '"'"'%%q '"'"' %s "$@")"\n' "$p" "$q" "$p" >"$bin/$p"
  done
  printf '#!/bin/bash\n# Runs a command in the OpenZFS guest (scripts/ozfs-vm.sh --with)\n[ $# -ge 1 ] || { echo "usage: ozfs-guest CMD [ARGS...]" >&2; exit 2; }\nexec ssh -F %s ozfs "$(printf '"'"'%%q '"'"' "$@")"\n' "$q" >"$bin/ozfs-guest"
  chmod 755 "$bin"/*

  local t0=$SECONDS qemu_pid
  # The guest dies with this script (trap below), at the latest after OZFS_TIMEOUT.
  timeout -k 10 "$OZFS_TIMEOUT" "${QEMU[@]}" \
    -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$port-:22" -device virtio-net-pci,netdev=n0 \
    </dev/null >"$C/qemu.log" 2>&1 &
  qemu_pid=$!
  echo "$qemu_pid" >"$C/qemu.pid"
  GUEST_PID=$qemu_pid GUEST_DIR=$C
  trap stop_guest EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  # Ready when a command runs over ssh: poll once a second, bounded.
  local deadline=$((SECONDS + ${OZFS_BOOT_TIMEOUT:-300}))
  until ssh -F "$C/ssh_config" -o ConnectTimeout=5 ozfs true 2>/dev/null; do
    if ! kill -0 "$qemu_pid" 2>/dev/null; then
      log "the guest stopped while booting: $(cat "$C/qemu.log")"; console_tail; exit 125
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then log "no ssh into the guest after ${OZFS_BOOT_TIMEOUT:-300}s"; console_tail; exit 125; fi
    sleep 1
  done
  # One master connection; every shim call is a session on it (no handshake per command).
  ssh -F "$C/ssh_config" -o ControlMaster=yes -o ControlPersist=yes -fN ozfs >"$C/master.log" 2>&1 \
    || { log "no master ssh connection: $(cat "$C/master.log")"; exit 125; }
  log "guest ready after $((SECONDS - t0))s: $("$bin/zfs" version | head -1), ssh port $port"

  local rc=0
  PATH="$bin:$PATH" OZFS_GUEST_DIR=$C "$@" || rc=$?
  exit "$rc"
}

# EXIT trap of --with: stop the master connection, stop sshd (the guest then powers off),
# bounded; kill QEMU if it is still there.
stop_guest() {
  local rc=$?
  trap - EXIT INT TERM
  [ -n "${GUEST_PID:-}" ] || exit "$rc"
  local C=$GUEST_DIR
  timeout 10 ssh -F "$C/ssh_config" ozfs 'kill $(cat /run/ozfs/sshd.pid)' >/dev/null 2>&1 || true
  ssh -F "$C/ssh_config" -O exit ozfs >/dev/null 2>&1 || true
  local i
  for i in $(seq 1 60); do kill -0 "$GUEST_PID" 2>/dev/null || break; sleep 0.5; done
  if kill -0 "$GUEST_PID" 2>/dev/null; then
    log "the guest did not power off within 30 s: killing QEMU"
    kill "$GUEST_PID" 2>/dev/null || true
  fi
  wait "$GUEST_PID" 2>/dev/null || true
  log "guest stopped"
  if [ "$AUTO_OUT" = 1 ] && [ "$rc" = 0 ] && [ "${OZFS_KEEP:-0}" != 1 ]; then rm -rf "$OUT"; else log "shared dir kept: $OUT"; fi
  exit "$rc"
}

case "${1:-}" in
  --setup) mkdir -p "$OZFS_HOME"; setup ;;
  --build-initrd) mkdir -p "$OZFS_HOME"; build_initrd "$(find_kver)" ;;
  --with) shift; mkdir -p "$OZFS_HOME"; with_guest "$@" ;;
  *) run_script "$@" ;;
esac
