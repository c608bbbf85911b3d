package controllers

import (
	"context"
	"testing"

	rampv1 "github.com/ramp-dev/ramp/api/v1alpha1"
)

func TestAClusterTheRepositoryDoesNotDefineIsNamed(t *testing.T) {
	for _, tc := range []struct {
		cs   *clusterSet
		want string
	}{
		{nil, "cluster eu is not defined: the ReleaseRepository has no spec.clusters"},
		{&clusterSet{repo: "ns/fleet", clusters: []rampv1.ClusterReference{{Name: "us"}}}, "cluster eu is not defined in spec.clusters of ReleaseRepository ns/fleet"},
		{&clusterSet{repo: "ns/fleet", clusters: []rampv1.ClusterReference{{Name: "eu"}}}, "cluster eu: spec.clusters[].kubeConfig needs a secretRef (configMapRef is not supported)"},
	} {
		if _, err := tc.cs.client(context.Background(), "eu"); err == nil || err.Error() != tc.want {
			t.Errorf("client(eu) = %v, want %q", err, tc.want)
		}
	}
}
