// Command ground-csi-driver is the test ground's CSI driver: volumes are directories, snapshots
// are copies, publishing is a bind mount. One process serves the Identity, Controller and Node
// services on one socket and registers itself with the kubelet. See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	registration "k8s.io/kubelet/pkg/apis/pluginregistration/v1"
)

const defaultName = "csi.ground.lifeboat.dev"

var version = "dev"

type driver struct {
	csi.UnimplementedIdentityServer
	csi.UnimplementedControllerServer
	csi.UnimplementedNodeServer

	name   string
	nodeID string
	store  *store
	now    func() time.Time
	mu     sync.Mutex // one operation at a time: simple, and plenty for a test ground
}

type options struct {
	name     string
	endpoint string // the CSI socket
	stateDir string
	nodeID   string
	// registrationDir is the kubelet's plugins_registry directory; empty: do not register.
	registrationDir string
}

func main() {
	var o options
	flag.StringVar(&o.name, "name", defaultName, "driver name")
	flag.StringVar(&o.endpoint, "endpoint", "", "path of the CSI unix socket to listen on")
	flag.StringVar(&o.stateDir, "state-dir", "", "directory for volumes and snapshots")
	flag.StringVar(&o.nodeID, "node-id", "", "this node's name")
	flag.StringVar(&o.registrationDir, "registration-dir", "", "the kubelet's plugins_registry directory (empty: do not register)")
	flag.Parse()
	if o.endpoint == "" || o.stateDir == "" || o.nodeID == "" {
		fmt.Fprintln(os.Stderr, "ground-csi-driver: -endpoint, -state-dir and -node-id are required")
		os.Exit(2)
	}
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer cancel()
	if err := run(ctx, o); err != nil {
		log.Fatalf("ground-csi-driver: %v", err)
	}
}

// run serves until ctx ends or the kubelet refuses the registration, then removes its sockets
// (the kubelet deregisters a plugin whose registration socket is gone).
func run(ctx context.Context, o options) error {
	st, err := openStore(o.stateDir)
	if err != nil {
		return err
	}
	d := &driver{name: o.name, nodeID: o.nodeID, store: st, now: time.Now}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	csiServer := grpc.NewServer(grpc.UnaryInterceptor(logCalls))
	csi.RegisterIdentityServer(csiServer, d)
	csi.RegisterControllerServer(csiServer, d)
	csi.RegisterNodeServer(csiServer, d)
	servers := []*grpc.Server{csiServer}
	if err := serve(csiServer, o.endpoint, cancel); err != nil {
		return err
	}
	defer os.Remove(o.endpoint)

	if o.registrationDir != "" {
		reg := grpc.NewServer(grpc.UnaryInterceptor(logCalls))
		registration.RegisterRegistrationServer(reg, &registrar{name: o.name, endpoint: o.endpoint, refused: cancel})
		regSocket := filepath.Join(o.registrationDir, o.name+"-reg.sock")
		if err := serve(reg, regSocket, cancel); err != nil {
			csiServer.Stop()
			return err
		}
		defer os.Remove(regSocket)
		servers = append(servers, reg)
	}
	log.Printf("%s %s serving on %s (node %s, state in %s)", o.name, version, o.endpoint, o.nodeID, o.stateDir)
	<-ctx.Done()
	for _, s := range servers {
		stopGracefully(s)
	}
	if err := context.Cause(ctx); !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// serve listens on a fresh unix socket (a stale one from a killed run is removed first).
func serve(s *grpc.Server, socket string, fail context.CancelCauseFunc) error {
	if len(socket) > 107 {
		return fmt.Errorf("socket path %s is %d bytes, more than a unix socket address holds (107)", socket, len(socket))
	}
	if err := os.MkdirAll(filepath.Dir(socket), 0o750); err != nil {
		return err
	}
	if err := os.Remove(socket); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	l, err := net.Listen("unix", socket)
	if err != nil {
		return err
	}
	go func() {
		if err := s.Serve(l); err != nil {
			fail(fmt.Errorf("serving %s: %w", socket, err))
		}
	}()
	return nil
}

// stopGracefully lets running calls answer (the kubelet's refusal among them), but not forever.
func stopGracefully(s *grpc.Server) {
	done := make(chan struct{})
	go func() { s.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		s.Stop()
	}
}

func logCalls(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	resp, err := handler(ctx, req)
	if err != nil {
		log.Printf("%s: %v", info.FullMethod, err)
	} else {
		log.Printf("%s ok", info.FullMethod)
	}
	return resp, err
}

func (d *driver) GetPluginInfo(context.Context, *csi.GetPluginInfoRequest) (*csi.GetPluginInfoResponse, error) {
	return &csi.GetPluginInfoResponse{Name: d.name, VendorVersion: version}, nil
}

func (d *driver) GetPluginCapabilities(context.Context, *csi.GetPluginCapabilitiesRequest) (*csi.GetPluginCapabilitiesResponse, error) {
	return &csi.GetPluginCapabilitiesResponse{Capabilities: []*csi.PluginCapability{{
		Type: &csi.PluginCapability_Service_{Service: &csi.PluginCapability_Service{
			Type: csi.PluginCapability_Service_CONTROLLER_SERVICE,
		}},
	}}}, nil
}

func (d *driver) Probe(context.Context, *csi.ProbeRequest) (*csi.ProbeResponse, error) {
	return &csi.ProbeResponse{}, nil
}

// registrar answers the kubelet's plugin watcher, which finds <name>-reg.sock in its
// plugins_registry directory, asks what the plugin is, and reports whether it took it.
type registrar struct {
	registration.UnimplementedRegistrationServer
	name, endpoint string
	refused        context.CancelCauseFunc
}

func (r *registrar) GetInfo(context.Context, *registration.InfoRequest) (*registration.PluginInfo, error) {
	return &registration.PluginInfo{
		Type:              registration.CSIPlugin,
		Name:              r.name,
		Endpoint:          r.endpoint,
		SupportedVersions: []string{"1.0.0"},
	}, nil
}

func (r *registrar) NotifyRegistrationStatus(_ context.Context, s *registration.RegistrationStatus) (*registration.RegistrationStatusResponse, error) {
	if !s.GetPluginRegistered() {
		// Stop loudly: a driver the kubelet does not know mounts nothing.
		r.refused(fmt.Errorf("the kubelet refused the registration: %s", s.GetError()))
	} else {
		log.Printf("registered with the kubelet")
	}
	return &registration.RegistrationStatusResponse{}, nil
}
