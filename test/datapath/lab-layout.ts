// The agent layouts the datapath suite runs under (`--layout`), shared by the host and the guest.

export type LabLayout = 'per-port' | 'shared-block';

export const isLabLayout = (s: string | undefined): s is LabLayout => s === 'per-port' || s === 'shared-block';

/** The host end of the lab topology's uplink veth: `--uplink` of the shared-block layout. */
export const LAB_UPLINK = 'dpup0';

/** The agent config options of a layout, as `--layout shared-block --uplink dpup0` gives them. */
export const layoutOptions = (layout: LabLayout): Record<string, unknown> => (layout === 'shared-block' ? { layout, uplink: LAB_UPLINK } : {});
