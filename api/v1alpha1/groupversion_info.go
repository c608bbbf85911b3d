// Package v1alpha1 holds ramp's Kubernetes API: the ReleaseRepository
// custom resource of the ramp.dev group.
// +kubebuilder:object:generate=true
// +groupName=ramp.dev
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of ramp's objects.
	GroupVersion = schema.GroupVersion{Group: "ramp.dev", Version: "v1alpha1"}

	// SchemeBuilder adds ramp's types to a scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds ramp's types to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
