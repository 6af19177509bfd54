import { describe, expect, it } from 'vitest';
import { kernelControlPaths } from '../../../src/policy/kernel-control.js';

describe('kernelControlPaths (the built-in write floor over cgroups and sysfs)', () => {
  it('is /sys plus every sysfs and cgroup mount point, escapes undone; other filesystems are not in it', () => {
    const mountinfo = [
      '22 1 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw',
      '26 22 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate',
      '40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
      '41 30 0:38 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer',
      '90 1 0:23 /user.slice /srv/my\\040cgroups rw,relatime - cgroup2 cgroup2 rw',
      '23 1 0:22 / /proc rw,nosuid,nodev,noexec,relatime shared:13 - proc proc rw',
      '24 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
      '',
    ].join('\n');
    expect(kernelControlPaths(mountinfo)).toEqual(['/sys', '/sys/fs/cgroup', '/sys/fs/cgroup/unified', '/sys/fs/cgroup/freezer', '/srv/my cgroups']);
  });

  it('with no mount table (not Linux) it is /sys alone', () => {
    expect(kernelControlPaths('')).toEqual(['/sys']);
  });
});
