package main

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

const (
	defaultCapacity = 1 << 30
	// Fault injection, chosen from inside the volume (see README.md).
	failSnapshotMarker  = ".ground-csi-fail-snapshot"
	stallSnapshotMarker = ".ground-csi-stall-snapshot"
)

func (d *driver) ControllerGetCapabilities(context.Context, *csi.ControllerGetCapabilitiesRequest) (*csi.ControllerGetCapabilitiesResponse, error) {
	var caps []*csi.ControllerServiceCapability
	for _, c := range []csi.ControllerServiceCapability_RPC_Type{
		csi.ControllerServiceCapability_RPC_CREATE_DELETE_VOLUME,
		csi.ControllerServiceCapability_RPC_CREATE_DELETE_SNAPSHOT,
		csi.ControllerServiceCapability_RPC_LIST_SNAPSHOTS,
	} {
		caps = append(caps, &csi.ControllerServiceCapability{
			Type: &csi.ControllerServiceCapability_Rpc{Rpc: &csi.ControllerServiceCapability_RPC{Type: c}},
		})
	}
	return &csi.ControllerGetCapabilitiesResponse{Capabilities: caps}, nil
}

// checkCapabilities accepts file-system volumes in any access mode (there is one node).
func checkCapabilities(caps []*csi.VolumeCapability) error {
	if len(caps) == 0 {
		return status.Error(codes.InvalidArgument, "volume capabilities missing")
	}
	for _, c := range caps {
		if c.GetMount() == nil {
			return status.Error(codes.InvalidArgument, "only mount volumes are supported, not block")
		}
	}
	return nil
}

func capacityOf(r *csi.CapacityRange) (int64, error) {
	required, limit := r.GetRequiredBytes(), r.GetLimitBytes()
	switch {
	case required < 0 || limit < 0:
		return 0, status.Error(codes.InvalidArgument, "capacity must not be negative")
	case limit > 0 && required > limit:
		return 0, status.Errorf(codes.OutOfRange, "required %d bytes exceeds the limit %d", required, limit)
	case required > 0:
		return required, nil
	case limit > 0:
		return limit, nil
	}
	return defaultCapacity, nil
}

func notFoundOr(err error, what string) error {
	if errors.Is(err, fs.ErrNotExist) {
		return status.Errorf(codes.NotFound, "%s not found", what)
	}
	return status.Error(codes.Internal, err.Error())
}

func (d *driver) CreateVolume(_ context.Context, req *csi.CreateVolumeRequest) (*csi.CreateVolumeResponse, error) {
	if req.GetName() == "" {
		return nil, status.Error(codes.InvalidArgument, "name missing")
	}
	if err := checkCapabilities(req.GetVolumeCapabilities()); err != nil {
		return nil, err
	}
	capacity, err := capacityOf(req.GetCapacityRange())
	if err != nil {
		return nil, err
	}
	var snapshotID string
	if src := req.GetVolumeContentSource(); src != nil {
		if src.GetSnapshot() == nil {
			return nil, status.Error(codes.InvalidArgument, "only snapshots can be a volume's content source")
		}
		snapshotID = src.GetSnapshot().GetSnapshotId()
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	id := idFor("vol-", req.GetName())
	response := &csi.CreateVolumeResponse{Volume: &csi.Volume{
		VolumeId: id, CapacityBytes: capacity, ContentSource: req.GetVolumeContentSource(),
	}}
	if m, err := d.store.volume(id); err == nil {
		if m.CapacityBytes != capacity || m.SourceSnapshotID != snapshotID {
			return nil, status.Errorf(codes.AlreadyExists, "volume %q exists with other parameters", req.GetName())
		}
		return response, nil
	}
	copyFrom := ""
	if snapshotID != "" {
		snap, err := d.store.snapshot(snapshotID)
		if err != nil {
			return nil, notFoundOr(err, "snapshot "+snapshotID)
		}
		if !snap.ReadyToUse {
			return nil, status.Errorf(codes.Unavailable, "snapshot %s is not ready to use", snapshotID)
		}
		if capacity < snap.SizeBytes {
			return nil, status.Errorf(codes.OutOfRange, "snapshot %s needs %d bytes, %d requested", snapshotID, snap.SizeBytes, capacity)
		}
		copyFrom = filepath.Join(d.store.snapshotDir(snapshotID), "data")
	}
	meta := volumeMeta{Name: req.GetName(), CapacityBytes: capacity, SourceSnapshotID: snapshotID}
	if err := d.store.create(d.store.volumeDir(id), meta, copyFrom); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return response, nil
}

func (d *driver) DeleteVolume(_ context.Context, req *csi.DeleteVolumeRequest) (*csi.DeleteVolumeResponse, error) {
	if !validID(req.GetVolumeId()) {
		return nil, status.Error(codes.InvalidArgument, "volume id missing or invalid")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.store.remove(d.store.volumeDir(req.GetVolumeId())); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &csi.DeleteVolumeResponse{}, nil
}

func (d *driver) ValidateVolumeCapabilities(_ context.Context, req *csi.ValidateVolumeCapabilitiesRequest) (*csi.ValidateVolumeCapabilitiesResponse, error) {
	if _, err := d.store.volume(req.GetVolumeId()); err != nil {
		return nil, notFoundOr(err, "volume "+req.GetVolumeId())
	}
	if err := checkCapabilities(req.GetVolumeCapabilities()); err != nil {
		return &csi.ValidateVolumeCapabilitiesResponse{Message: err.Error()}, nil
	}
	return &csi.ValidateVolumeCapabilitiesResponse{Confirmed: &csi.ValidateVolumeCapabilitiesResponse_Confirmed{
		VolumeCapabilities: req.GetVolumeCapabilities(),
	}}, nil
}

func snapshotOf(id string, m *snapshotMeta) *csi.Snapshot {
	return &csi.Snapshot{
		SnapshotId:     id,
		SourceVolumeId: m.SourceVolumeID,
		SizeBytes:      m.SizeBytes,
		CreationTime:   timestamppb.New(m.CreationTime),
		ReadyToUse:     m.ReadyToUse,
	}
}

// CreateSnapshot copies the volume's files now, so later writes to the volume do not reach it.
func (d *driver) CreateSnapshot(_ context.Context, req *csi.CreateSnapshotRequest) (*csi.CreateSnapshotResponse, error) {
	if req.GetName() == "" || req.GetSourceVolumeId() == "" {
		return nil, status.Error(codes.InvalidArgument, "name and source volume id are required")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	id := idFor("snap-", req.GetName())
	if m, err := d.store.snapshot(id); err == nil {
		if m.SourceVolumeID != req.GetSourceVolumeId() {
			return nil, status.Errorf(codes.AlreadyExists, "snapshot %q exists for volume %s", req.GetName(), m.SourceVolumeID)
		}
		return &csi.CreateSnapshotResponse{Snapshot: snapshotOf(id, m)}, nil
	}
	vol, err := d.store.volume(req.GetSourceVolumeId())
	if err != nil {
		return nil, notFoundOr(err, "volume "+req.GetSourceVolumeId())
	}
	data := filepath.Join(d.store.volumeDir(req.GetSourceVolumeId()), "data")
	if msg, err := os.ReadFile(filepath.Join(data, failSnapshotMarker)); err == nil {
		return nil, status.Errorf(codes.Internal, "snapshot of volume %s fails on request (%s): %s",
			req.GetSourceVolumeId(), failSnapshotMarker, strings.TrimSpace(string(msg)))
	}
	_, stallErr := os.Lstat(filepath.Join(data, stallSnapshotMarker))
	meta := &snapshotMeta{
		Name:           req.GetName(),
		SourceVolumeID: req.GetSourceVolumeId(),
		SizeBytes:      vol.CapacityBytes, // a restore needs a volume at least this big
		CreationTime:   d.now(),
		ReadyToUse:     stallErr != nil,
	}
	if err := d.store.create(d.store.snapshotDir(id), meta, data); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &csi.CreateSnapshotResponse{Snapshot: snapshotOf(id, meta)}, nil
}

func (d *driver) DeleteSnapshot(_ context.Context, req *csi.DeleteSnapshotRequest) (*csi.DeleteSnapshotResponse, error) {
	if !validID(req.GetSnapshotId()) {
		return nil, status.Error(codes.InvalidArgument, "snapshot id missing or invalid")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.store.remove(d.store.snapshotDir(req.GetSnapshotId())); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &csi.DeleteSnapshotResponse{}, nil
}

func (d *driver) ListSnapshots(_ context.Context, req *csi.ListSnapshotsRequest) (*csi.ListSnapshotsResponse, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	ids := []string{req.GetSnapshotId()}
	if req.GetSnapshotId() == "" {
		var err error
		if ids, err = d.store.snapshotIDs(); err != nil {
			return nil, status.Error(codes.Internal, err.Error())
		}
		sort.Strings(ids)
	}
	var all []*csi.ListSnapshotsResponse_Entry
	for _, id := range ids {
		m, err := d.store.snapshot(id)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, status.Error(codes.Internal, err.Error())
		}
		if req.GetSourceVolumeId() != "" && m.SourceVolumeID != req.GetSourceVolumeId() {
			continue
		}
		all = append(all, &csi.ListSnapshotsResponse_Entry{Snapshot: snapshotOf(id, m)})
	}
	// The token is the index of the next entry.
	start := 0
	if t := req.GetStartingToken(); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 0 || n > len(all) {
			return nil, status.Errorf(codes.Aborted, "invalid starting token %q", t)
		}
		start = n
	}
	end, next := len(all), ""
	if max := int(req.GetMaxEntries()); max > 0 && start+max < len(all) {
		end, next = start+max, strconv.Itoa(start+max)
	}
	return &csi.ListSnapshotsResponse{Entries: all[start:end], NextToken: next}, nil
}
