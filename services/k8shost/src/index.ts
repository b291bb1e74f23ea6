/** @photoncloud/k8shost: pods, ClusterIP services and nodes (guide §5). */
export * from './server.js';
export { registerK8sRoutes } from './routes/index.js';
export { K8sRepo } from './storage/k8s-repo.js';
