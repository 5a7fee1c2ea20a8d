# shellcheck shell=sh
# The space check of the portrig package, run before any of its files is unpacked: opkg runs it
# as the preinst (and aborts the install when it fails), apk as the pre-install and pre-upgrade.
# The package build appends `check_space KIB` with the KiB its files take.
#
# The full size counts on an upgrade too: apk writes the new files beside the old ones and
# renames them only at the end, and opkg's own check asks for the whole Installed-Size.

# Free KiB and mount point of the filesystem holding DIR, from POSIX df output.
free_space() {
	df -Pk "$1" 2>/dev/null | awk 'NR == 2 { print $4, $6 }'
}

mib() {
	awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'
}

check_space() {
	needed=$1
	# Where the files go: the image being built (IPKG_INSTROOT) or this system; the nearest
	# directory that exists on the way to /usr/sbin.
	dir="${IPKG_INSTROOT}/usr/sbin"
	while [ ! -d "$dir" ]; do dir=$(dirname "$dir"); done
	info=$(free_space "$dir")
	free=${info%% *} mount=${info#* }
	case "$free" in
	'' | *[!0-9]*)
		echo "portrig: cannot read the free space of $dir; not checking it" >&2
		return 0
		;;
	esac
	[ "$free" -lt "$needed" ] || return 0
	# Both managers set PKG_UPGRADE=1 for an upgrade; the installed version then stays.
	outcome="portrig is not installed"
	[ "${PKG_UPGRADE:-0}" = 1 ] && outcome="portrig is not upgraded (the installed version stays)"
	cat >&2 <<EOF
portrig: not enough free space. portrig needs $(mib "$needed") ($needed KiB) on $mount, which has $(mib "$free") ($free KiB) free, so $outcome.
Ways out:
  - a bigger root partition: build the image with the firmware selector (firmware-selector.openwrt.org, "Customize installed packages", root filesystem partition size) or the ImageBuilder (make image ROOTFS_PARTSIZE=<MiB>), then flash it;
  - extroot: move the overlay to a USB disk or SD card (openwrt.org/docs/guide-user/additional-software/extroot_configuration);
  - resize the root partition and filesystem of the running image (openwrt.org/docs/guide-user/advanced/expand_root).
EOF
	return 1
}
