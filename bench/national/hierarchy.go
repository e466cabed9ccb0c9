package main

import (
	"fmt"
	"strconv"
	"strings"
)

// The static hierarchy: centre replicas centre-1..3, regions region-1..R,
// sites site-0001..; site i (from 0) hangs under region i mod R.

const centreID = "centre-1"

func siteID(i int) string   { return fmt.Sprintf("site-%04d", i+1) }
func regionID(r int) string { return fmt.Sprintf("region-%d", r+1) }

// siteIndex is the inverse of siteID (-1 if id is not a site).
func siteIndex(id string) int {
	n, err := strconv.Atoi(strings.TrimPrefix(id, "site-"))
	if err != nil || !strings.HasPrefix(id, "site-") || n < 1 {
		return -1
	}
	return n - 1
}

// regionOf names the region a site hangs under ("" if it is not a site).
func regionOf(site string, regions int) string {
	i := siteIndex(site)
	if i < 0 {
		return ""
	}
	return regionID(i % regions)
}
