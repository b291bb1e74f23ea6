/**
 * Where PrismNET keeps its state in the store. Records are JSON in the wire shape; index keys make the
 * "still in use" checks (VPC → subnets, subnet → addresses, security group → ports) single range
 * compares inside the transaction that deletes, so a delete and a concurrent create never both win.
 */

/** Root of every PrismNET key. */
export const PRISMNET_PREFIX = '/photoncloud/prismnet/';

/** Store keys and prefixes. IDs never contain `/` (the schemas' ID pattern). */
export const KEYS = {
  vpcs: `${PRISMNET_PREFIX}vpcs/`,
  vpc: (id: string) => `${PRISMNET_PREFIX}vpcs/${id}`,
  subnets: `${PRISMNET_PREFIX}subnets/`,
  subnet: (id: string) => `${PRISMNET_PREFIX}subnets/${id}`,
  /** Index: one key per subnet of a VPC; value = the subnet's CIDR (for overlap checks in one read). */
  vpcSubnets: (vpcId: string) => `${PRISMNET_PREFIX}vpc-subnets/${vpcId}/`,
  vpcSubnet: (vpcId: string, subnetId: string) => `${PRISMNET_PREFIX}vpc-subnets/${vpcId}/${subnetId}`,
  ports: `${PRISMNET_PREFIX}ports/`,
  port: (id: string) => `${PRISMNET_PREFIX}ports/${id}`,
  /** One key per allocated address; value = the port ID. Created only if absent (create_revision = 0). */
  ipamOf: (subnetId: string) => `${PRISMNET_PREFIX}ipam/${subnetId}/`,
  ipam: (subnetId: string, ip: string) => `${PRISMNET_PREFIX}ipam/${subnetId}/${ip}`,
  /** One key per MAC in use; value = the port ID. */
  mac: (mac: string) => `${PRISMNET_PREFIX}macs/${mac}`,
  securityGroups: `${PRISMNET_PREFIX}security-groups/`,
  securityGroup: (id: string) => `${PRISMNET_PREFIX}security-groups/${id}`,
  /** Index: one key per port using a security group. */
  sgPorts: (sgId: string) => `${PRISMNET_PREFIX}sg-ports/${sgId}/`,
  sgPort: (sgId: string, portId: string) => `${PRISMNET_PREFIX}sg-ports/${sgId}/${portId}`,
} as const;
