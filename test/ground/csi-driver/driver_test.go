package main

// These tests run the driver as main does (run), on unix sockets in a temporary directory, and
// call it over gRPC like the sidecars and the kubelet do. Publishing bind-mounts, so they need root.

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	registration "k8s.io/kubelet/pkg/apis/pluginregistration/v1"
)

type clients struct {
	identity   csi.IdentityClient
	controller csi.ControllerClient
	node       csi.NodeClient
	register   registration.RegistrationClient
	stateDir   string
	dir        string
}

func dial(t *testing.T, socket string) *grpc.ClientConn {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(socket); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not appear", socket)
		}
		time.Sleep(20 * time.Millisecond)
	}
	conn, err := grpc.NewClient("unix://"+socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// shortTempDir keeps socket paths under the 108 bytes a unix socket address holds
// (t.TempDir's names are long).
func shortTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "csi")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func startDriver(t *testing.T) *clients {
	t.Helper()
	dir := shortTempDir(t)
	o := options{
		name:            defaultName,
		endpoint:        filepath.Join(dir, "plugins", defaultName, "csi.sock"),
		stateDir:        filepath.Join(dir, "state"),
		nodeID:          "ground-node",
		registrationDir: filepath.Join(dir, "plugins_registry"),
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, o) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
		for _, s := range []string{o.endpoint, filepath.Join(o.registrationDir, defaultName+"-reg.sock")} {
			if _, err := os.Stat(s); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%s left behind after stop", s)
			}
		}
	})
	conn := dial(t, o.endpoint)
	return &clients{
		identity:   csi.NewIdentityClient(conn),
		controller: csi.NewControllerClient(conn),
		node:       csi.NewNodeClient(conn),
		register:   registration.NewRegistrationClient(dial(t, filepath.Join(o.registrationDir, defaultName+"-reg.sock"))),
		stateDir:   o.stateDir,
		dir:        dir,
	}
}

var mountCap = []*csi.VolumeCapability{{
	AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{}},
	AccessMode: &csi.VolumeCapability_AccessMode{Mode: csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER},
}}

func createVolume(t *testing.T, c *clients, name string, size int64, fromSnapshot string) *csi.Volume {
	t.Helper()
	req := &csi.CreateVolumeRequest{
		Name: name, VolumeCapabilities: mountCap,
		CapacityRange: &csi.CapacityRange{RequiredBytes: size},
	}
	if fromSnapshot != "" {
		req.VolumeContentSource = &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Snapshot{
			Snapshot: &csi.VolumeContentSource_SnapshotSource{SnapshotId: fromSnapshot},
		}}
	}
	resp, err := c.controller.CreateVolume(context.Background(), req)
	if err != nil {
		t.Fatalf("CreateVolume %s: %v", name, err)
	}
	return resp.GetVolume()
}

func dataDir(c *clients, volumeID string) string {
	return filepath.Join(c.stateDir, "volumes", volumeID, "data")
}

func writeFile(t *testing.T, path, content string, mode fs.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func wantCode(t *testing.T, err error, code codes.Code) {
	t.Helper()
	if status.Code(err) != code {
		t.Fatalf("want %s, got %v", code, err)
	}
}

func TestIdentityNamesTheDriverAndOffersTheControllerService(t *testing.T) {
	c := startDriver(t)
	info, err := c.identity.GetPluginInfo(context.Background(), &csi.GetPluginInfoRequest{})
	if err != nil || info.GetName() != defaultName {
		t.Fatalf("GetPluginInfo: %v %v", info, err)
	}
	caps, err := c.identity.GetPluginCapabilities(context.Background(), &csi.GetPluginCapabilitiesRequest{})
	if err != nil || len(caps.GetCapabilities()) != 1 ||
		caps.GetCapabilities()[0].GetService().GetType() != csi.PluginCapability_Service_CONTROLLER_SERVICE {
		t.Fatalf("GetPluginCapabilities: %v %v", caps, err)
	}
	if _, err := c.identity.Probe(context.Background(), &csi.ProbeRequest{}); err != nil {
		t.Fatal(err)
	}
	node, err := c.node.NodeGetInfo(context.Background(), &csi.NodeGetInfoRequest{})
	if err != nil || node.GetNodeId() != "ground-node" {
		t.Fatalf("NodeGetInfo: %v %v", node, err)
	}
}

func TestRegistrationTellsTheKubeletWhereTheCSISocketIs(t *testing.T) {
	c := startDriver(t)
	info, err := c.register.GetInfo(context.Background(), &registration.InfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(c.dir, "plugins", defaultName, "csi.sock")
	if info.GetType() != "CSIPlugin" || info.GetName() != defaultName || info.GetEndpoint() != want ||
		strings.Join(info.GetSupportedVersions(), ",") != "1.0.0" {
		t.Fatalf("GetInfo: %v", info)
	}
	if _, err := c.register.NotifyRegistrationStatus(context.Background(),
		&registration.RegistrationStatus{PluginRegistered: true}); err != nil {
		t.Fatal(err)
	}
}

func TestRefusedRegistrationStopsTheDriverWithTheKubeletsReason(t *testing.T) {
	dir := shortTempDir(t)
	o := options{
		name: defaultName, nodeID: "n", stateDir: filepath.Join(dir, "state"),
		endpoint: filepath.Join(dir, "csi.sock"), registrationDir: filepath.Join(dir, "reg"),
	}
	done := make(chan error, 1)
	go func() { done <- run(context.Background(), o) }()
	reg := registration.NewRegistrationClient(dial(t, filepath.Join(o.registrationDir, defaultName+"-reg.sock")))
	if _, err := reg.NotifyRegistrationStatus(context.Background(),
		&registration.RegistrationStatus{PluginRegistered: false, Error: "version 9 unknown"}); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err == nil || !strings.Contains(err.Error(), "version 9 unknown") {
		t.Fatalf("run returned %v", err)
	}
}

func TestCreateVolumeRecordsTheSizeAndIsIdempotent(t *testing.T) {
	c := startDriver(t)
	v := createVolume(t, c, "pvc-1", 5<<20, "")
	if v.GetCapacityBytes() != 5<<20 {
		t.Fatalf("capacity %d", v.GetCapacityBytes())
	}
	if info, err := os.Stat(dataDir(c, v.GetVolumeId())); err != nil || !info.IsDir() {
		t.Fatalf("data dir: %v", err)
	}
	again := createVolume(t, c, "pvc-1", 5<<20, "")
	if again.GetVolumeId() != v.GetVolumeId() {
		t.Fatalf("retry made another volume: %s vs %s", again.GetVolumeId(), v.GetVolumeId())
	}
	_, err := c.controller.CreateVolume(context.Background(), &csi.CreateVolumeRequest{
		Name: "pvc-1", VolumeCapabilities: mountCap, CapacityRange: &csi.CapacityRange{RequiredBytes: 6 << 20},
	})
	wantCode(t, err, codes.AlreadyExists)
	def := createVolume(t, c, "pvc-2", 0, "")
	if def.GetCapacityBytes() != defaultCapacity {
		t.Fatalf("default capacity %d", def.GetCapacityBytes())
	}
	_, err = c.controller.CreateVolume(context.Background(), &csi.CreateVolumeRequest{
		Name: "blk", VolumeCapabilities: []*csi.VolumeCapability{{
			AccessType: &csi.VolumeCapability_Block{Block: &csi.VolumeCapability_BlockVolume{}},
		}},
	})
	wantCode(t, err, codes.InvalidArgument)
}

// The heart of it: a snapshot keeps the data as it was, and a volume made from it has that data.
func TestSnapshotIsAnIndependentCopyAndRestoresIntoANewVolume(t *testing.T) {
	c := startDriver(t)
	v := createVolume(t, c, "pvc-src", 8<<20, "")
	src := dataDir(c, v.GetVolumeId())
	writeFile(t, filepath.Join(src, "a.txt"), "before", 0o640)
	writeFile(t, filepath.Join(src, "sub", "deep", "b.bin"), string(bytes.Repeat([]byte{7}, 100_000)), 0o600)
	if err := os.Symlink("sub/deep/b.bin", filepath.Join(src, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(filepath.Join(src, "a.txt"), 1234, 5678); err != nil {
		t.Fatal(err)
	}

	before := time.Now().Add(-time.Second)
	snap, err := c.controller.CreateSnapshot(context.Background(), &csi.CreateSnapshotRequest{
		Name: "snapshot-1", SourceVolumeId: v.GetVolumeId(),
	})
	if err != nil {
		t.Fatal(err)
	}
	s := snap.GetSnapshot()
	if !s.GetReadyToUse() || s.GetSizeBytes() != 8<<20 || s.GetSourceVolumeId() != v.GetVolumeId() ||
		s.GetCreationTime().AsTime().Before(before) {
		t.Fatalf("snapshot: %v", s)
	}

	// Writes after the snapshot: change, add, delete.
	writeFile(t, filepath.Join(src, "a.txt"), "after", 0o640)
	writeFile(t, filepath.Join(src, "new.txt"), "new", 0o644)
	if err := os.RemoveAll(filepath.Join(src, "sub")); err != nil {
		t.Fatal(err)
	}

	restored := createVolume(t, c, "pvc-restored", 8<<20, s.GetSnapshotId())
	if restored.GetContentSource().GetSnapshot().GetSnapshotId() != s.GetSnapshotId() {
		t.Fatalf("content source not reported: %v", restored)
	}
	dst := dataDir(c, restored.GetVolumeId())
	if got := readFile(t, filepath.Join(dst, "a.txt")); got != "before" {
		t.Fatalf("a.txt in the restored volume: %q", got)
	}
	if got := readFile(t, filepath.Join(dst, "link")); len(got) != 100_000 {
		t.Fatalf("file through the symlink has %d bytes", len(got))
	}
	if target, err := os.Readlink(filepath.Join(dst, "link")); err != nil || target != "sub/deep/b.bin" {
		t.Fatalf("symlink: %q %v", target, err)
	}
	if _, err := os.Stat(filepath.Join(dst, "new.txt")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a file written after the snapshot reached it: %v", err)
	}
	info, err := os.Stat(filepath.Join(dst, "a.txt"))
	if err != nil {
		t.Fatal(err)
	}
	st := info.Sys().(*syscall.Stat_t)
	if info.Mode().Perm() != 0o640 || st.Uid != 1234 || st.Gid != 5678 {
		t.Fatalf("a.txt mode %v owner %d:%d", info.Mode(), st.Uid, st.Gid)
	}

	// The restored volume is independent of the snapshot too.
	writeFile(t, filepath.Join(dst, "a.txt"), "changed in the restore", 0o640)
	again := createVolume(t, c, "pvc-restored-2", 9<<20, s.GetSnapshotId())
	if got := readFile(t, filepath.Join(dataDir(c, again.GetVolumeId()), "a.txt")); got != "before" {
		t.Fatalf("second restore: %q", got)
	}

	_, err = c.controller.CreateVolume(context.Background(), &csi.CreateVolumeRequest{
		Name: "too-small", VolumeCapabilities: mountCap, CapacityRange: &csi.CapacityRange{RequiredBytes: 1 << 20},
		VolumeContentSource: &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Snapshot{
			Snapshot: &csi.VolumeContentSource_SnapshotSource{SnapshotId: s.GetSnapshotId()},
		}},
	})
	wantCode(t, err, codes.OutOfRange)
}

func TestListSnapshotsFiltersAndPages(t *testing.T) {
	c := startDriver(t)
	v1 := createVolume(t, c, "v1", 1<<20, "")
	v2 := createVolume(t, c, "v2", 1<<20, "")
	ids := map[string]string{}
	for _, n := range []string{"s1", "s2", "s3"} {
		vol := v1.GetVolumeId()
		if n == "s3" {
			vol = v2.GetVolumeId()
		}
		r, err := c.controller.CreateSnapshot(context.Background(), &csi.CreateSnapshotRequest{Name: n, SourceVolumeId: vol})
		if err != nil {
			t.Fatal(err)
		}
		ids[n] = r.GetSnapshot().GetSnapshotId()
	}
	one, err := c.controller.ListSnapshots(context.Background(), &csi.ListSnapshotsRequest{SnapshotId: ids["s2"]})
	if err != nil || len(one.GetEntries()) != 1 || one.GetEntries()[0].GetSnapshot().GetSnapshotId() != ids["s2"] {
		t.Fatalf("by id: %v %v", one, err)
	}
	none, err := c.controller.ListSnapshots(context.Background(), &csi.ListSnapshotsRequest{SnapshotId: "snap-unknown"})
	if err != nil || len(none.GetEntries()) != 0 {
		t.Fatalf("unknown id: %v %v", none, err)
	}
	byVol, err := c.controller.ListSnapshots(context.Background(), &csi.ListSnapshotsRequest{SourceVolumeId: v1.GetVolumeId()})
	if err != nil || len(byVol.GetEntries()) != 2 {
		t.Fatalf("by volume: %v %v", byVol, err)
	}
	seen := map[string]bool{}
	token := ""
	for page := 0; page < 5; page++ {
		r, err := c.controller.ListSnapshots(context.Background(), &csi.ListSnapshotsRequest{MaxEntries: 2, StartingToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range r.GetEntries() {
			seen[e.GetSnapshot().GetSnapshotId()] = true
		}
		if token = r.GetNextToken(); token == "" {
			break
		}
	}
	if len(seen) != 3 {
		t.Fatalf("pages held %d snapshots", len(seen))
	}
}

func TestDeleteRemovesTheDirectoriesAndIsIdempotent(t *testing.T) {
	c := startDriver(t)
	v := createVolume(t, c, "gone", 1<<20, "")
	snap, err := c.controller.CreateSnapshot(context.Background(), &csi.CreateSnapshotRequest{Name: "gone-snap", SourceVolumeId: v.GetVolumeId()})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if _, err := c.controller.DeleteVolume(context.Background(), &csi.DeleteVolumeRequest{VolumeId: v.GetVolumeId()}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.controller.DeleteSnapshot(context.Background(), &csi.DeleteSnapshotRequest{SnapshotId: snap.GetSnapshot().GetSnapshotId()}); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"volumes", "snapshots", "tmp"} {
		entries, err := os.ReadDir(filepath.Join(c.stateDir, d))
		if err != nil || len(entries) != 0 {
			t.Fatalf("%s after delete: %v %v", d, entries, err)
		}
	}
	_, err = c.controller.DeleteVolume(context.Background(), &csi.DeleteVolumeRequest{VolumeId: "../escape"})
	wantCode(t, err, codes.InvalidArgument)
}

func TestFaultInjectionFromInsideTheVolume(t *testing.T) {
	c := startDriver(t)
	failing := createVolume(t, c, "failing", 1<<20, "")
	writeFile(t, filepath.Join(dataDir(c, failing.GetVolumeId()), failSnapshotMarker), "disk on fire\n", 0o644)
	_, err := c.controller.CreateSnapshot(context.Background(), &csi.CreateSnapshotRequest{Name: "f", SourceVolumeId: failing.GetVolumeId()})
	wantCode(t, err, codes.Internal)
	if !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("the marker's text is not in the error: %v", err)
	}

	stalled := createVolume(t, c, "stalled", 1<<20, "")
	writeFile(t, filepath.Join(dataDir(c, stalled.GetVolumeId()), stallSnapshotMarker), "", 0o644)
	for i := 0; i < 2; i++ { // the snapshotter asks again; it stays not ready
		r, err := c.controller.CreateSnapshot(context.Background(), &csi.CreateSnapshotRequest{Name: "s", SourceVolumeId: stalled.GetVolumeId()})
		if err != nil || r.GetSnapshot().GetReadyToUse() {
			t.Fatalf("stalled snapshot: %v %v", r, err)
		}
	}
	list, err := c.controller.ListSnapshots(context.Background(), &csi.ListSnapshotsRequest{SourceVolumeId: stalled.GetVolumeId()})
	if err != nil || len(list.GetEntries()) != 1 || list.GetEntries()[0].GetSnapshot().GetReadyToUse() {
		t.Fatalf("listed: %v %v", list, err)
	}
	_, err = c.controller.CreateVolume(context.Background(), &csi.CreateVolumeRequest{
		Name: "from-stalled", VolumeCapabilities: mountCap,
		VolumeContentSource: &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Snapshot{
			Snapshot: &csi.VolumeContentSource_SnapshotSource{SnapshotId: list.GetEntries()[0].GetSnapshot().GetSnapshotId()},
		}},
	})
	wantCode(t, err, codes.Unavailable)

	// Other volumes are not affected.
	ok := createVolume(t, c, "healthy", 1<<20, "")
	r, err := c.controller.CreateSnapshot(context.Background(), &csi.CreateSnapshotRequest{Name: "h", SourceVolumeId: ok.GetVolumeId()})
	if err != nil || !r.GetSnapshot().GetReadyToUse() {
		t.Fatalf("healthy snapshot: %v %v", r, err)
	}
}

func TestPublishBindMountsTheVolumeAndUnpublishRemovesIt(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test bind-mounts and must run as root")
	}
	c := startDriver(t)
	v := createVolume(t, c, "mounted", 1<<20, "")
	target := filepath.Join(c.dir, "pods", "uid", "volumes", "mount")
	publish := func(readonly bool, path string) error {
		_, err := c.node.NodePublishVolume(context.Background(), &csi.NodePublishVolumeRequest{
			VolumeId: v.GetVolumeId(), TargetPath: path, VolumeCapability: mountCap[0], Readonly: readonly,
		})
		return err
	}
	unpublish := func(path string) {
		t.Helper()
		if _, err := c.node.NodeUnpublishVolume(context.Background(), &csi.NodeUnpublishVolumeRequest{
			VolumeId: v.GetVolumeId(), TargetPath: path,
		}); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { _ = syscall.Unmount(target, syscall.MNT_DETACH) })
	for i := 0; i < 2; i++ { // the kubelet may publish again
		if err := publish(false, target); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(target, "from-pod.txt"), "hello", 0o644)
	if got := readFile(t, filepath.Join(dataDir(c, v.GetVolumeId()), "from-pod.txt")); got != "hello" {
		t.Fatalf("volume has %q", got)
	}
	unpublish(target)
	unpublish(target)
	if mounted, err := isMountPoint(target); err != nil || mounted {
		t.Fatalf("still mounted: %v %v", mounted, err)
	}
	if _, err := os.Stat(target); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("target not removed: %v", err)
	}

	ro := filepath.Join(c.dir, "pods", "uid", "volumes", "ro dir")
	t.Cleanup(func() { _ = syscall.Unmount(ro, syscall.MNT_DETACH) })
	if err := publish(true, ro); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ro, "x"), nil, 0o644); !errors.Is(err, syscall.EROFS) {
		t.Fatalf("write to a read-only publish: %v", err)
	}
	if got := readFile(t, filepath.Join(ro, "from-pod.txt")); got != "hello" {
		t.Fatalf("read-only view has %q", got)
	}
	unpublish(ro) // its name has a space, escaped in mountinfo
	if mounted, _ := isMountPoint(ro); mounted {
		t.Fatal("read-only mount left behind")
	}

	_, err := c.node.NodePublishVolume(context.Background(), &csi.NodePublishVolumeRequest{
		VolumeId: "vol-unknown", TargetPath: target, VolumeCapability: mountCap[0],
	})
	wantCode(t, err, codes.NotFound)
}
