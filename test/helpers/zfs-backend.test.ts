/** The backend choice of the real-ZFS suites (`XREPL_ZFS_BACKEND`). */
import { zfsBackend } from './zfs-backend.js';

describe('XREPL_ZFS_BACKEND chooses the ZFS the real-ZFS suites run on', () => {
  test('zfs-fuse when unset', () => {
    expect(zfsBackend({})).toBe('zfs-fuse');
  });

  test('openzfs or zfs-fuse when named', () => {
    expect(zfsBackend({ XREPL_ZFS_BACKEND: 'openzfs' })).toBe('openzfs');
    expect(zfsBackend({ XREPL_ZFS_BACKEND: 'zfs-fuse' })).toBe('zfs-fuse');
  });

  test('an unknown name is a clear error, not a silent fallback', () => {
    expect(() => zfsBackend({ XREPL_ZFS_BACKEND: 'OpenZFS' })).toThrow(
      'XREPL_ZFS_BACKEND=OpenZFS: unknown ZFS backend; use zfs-fuse or openzfs',
    );
  });
});
